"""What the relay knows of one channel: the `channels` row parsed once into plain fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Channel:
    """An upstream channel as the relay uses it (immutable; rebuilt when the row changes)."""

    id: int
    type: int
    name: str
    key: str
    status: int
    base_url: str
    models: tuple[str, ...]
    groups: tuple[str, ...]
    priority: int
    weight: int
    model_mapping: dict[str, str] = field(default_factory=dict)
    system_prompt: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    other: str = ""
    ratelimit: int = 0
    model_configs: dict[str, Any] = field(default_factory=dict)

    def upstream_model(self, requested: str) -> str:
        """The model name sent upstream: the mapping's target when there is one, else as requested."""
        mapped = self.model_mapping.get(requested)
        return mapped if isinstance(mapped, str) and mapped else requested

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Channel:
        def split(text: str | None) -> tuple[str, ...]:
            return tuple(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))

        config = _json_object(row.get("config"))
        other = row.get("other") or ""
        # One API copies the legacy `other` column into the config keys it used to hold.
        if other and not config.get("api_version"):
            config["api_version"] = other
        mapping = {k: v for k, v in _json_object(row.get("model_mapping")).items() if isinstance(v, str)}
        return cls(
            id=int(row["id"]),
            type=int(row.get("type") or 0),
            name=row.get("name") or "",
            key=(row.get("key") or "").strip(),
            status=int(row.get("status") or 0),
            base_url=(row.get("base_url") or "").strip(),
            models=split(row.get("models")),
            groups=split(row.get("group")) or ("default",),
            priority=int(row.get("priority") or 0),
            weight=int(row.get("weight") or 0),
            model_mapping=mapping,
            system_prompt=row.get("system_prompt") or "",
            config=config,
            other=other,
            ratelimit=int(row.get("ratelimit") or 0),
            model_configs=_json_object(row.get("model_configs")),
        )
