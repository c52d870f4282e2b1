"""The ability rows a channel implies: groups × models, trimmed and de-duplicated."""

from __future__ import annotations

from typing import Any

from oneapi.services.abilities import ability_rows, split_names


def channel(**fields: Any) -> dict[str, Any]:
    return {"id": 7, "group": "default", "models": "gpt-4o", "status": 1, "priority": 0, **fields}


def test_split_names_trims_and_drops_empties_and_repeats_keeping_order() -> None:
    assert split_names(" b, a,,b , c ,") == ["b", "a", "c"]
    assert split_names("") == []
    assert split_names(None) == []


def test_one_row_per_group_and_model() -> None:
    rows = ability_rows(channel(group="default, vip", models="m1,m2 ,m3", priority=5))
    assert {(r["group"], r["model"]) for r in rows} == {
        (g, m) for g in ("default", "vip") for m in ("m1", "m2", "m3")
    }
    assert len(rows) == 6
    assert all(r["channel_id"] == 7 and r["priority"] == 5 and r["enabled"] is True for r in rows)


def test_duplicates_and_blanks_make_no_extra_rows() -> None:
    rows = ability_rows(channel(group="default,,default", models="m1, m1 ,,"))
    assert [(r["group"], r["model"]) for r in rows] == [("default", "m1")]


def test_rows_of_a_disabled_channel_are_disabled() -> None:
    for status in (0, 2, 3):
        assert all(r["enabled"] is False for r in ability_rows(channel(status=status)))


def test_no_models_or_no_groups_means_no_rows() -> None:
    assert ability_rows(channel(models="")) == []
    assert ability_rows(channel(group=" , ")) == []


def test_missing_priority_is_zero() -> None:
    assert ability_rows(channel(priority=None))[0]["priority"] == 0
