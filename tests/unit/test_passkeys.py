"""Passkey pieces without a server: the relying party's defaults, the fork's user handle, and the
one-time ceremony store's expiry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oneapi.cache.passkey_store import CEREMONY_SECONDS, MemoryCeremonyStore
from oneapi.config import Settings
from oneapi.services.passkey_auth import relying_party, user_handle, user_id_of


class Options:
    """The two options the relying party reads."""

    def __init__(self, **values: str) -> None:
        self.values = {"SystemName": "One API", "ServerAddress": "http://localhost:3000", **values}

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


def rp(env: dict[str, str], **options: str) -> Any:
    return relying_party(Settings.from_env(env), Options(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "rp_id", "origins"),
    [
        ("http://localhost:3000", "localhost", ["http://localhost:3000"]),
        ("https://api.example.com/", "api.example.com", ["https://api.example.com"]),
        ("https://API.Example.com:8443", "api.example.com", ["https://api.example.com:8443"]),
        ("https://example.com/one-api/", "example.com", ["https://example.com"]),
        ("", "localhost", []),
    ],
)
def test_the_relying_party_comes_from_server_address(address: str, rp_id: str, origins: list[str]) -> None:
    party = rp({}, ServerAddress=address, SystemName="My Gateway")
    assert (party.id, party.origins, party.name) == (rp_id, origins, "My Gateway")


def test_the_environment_wins_over_server_address() -> None:
    party = rp(
        {
            "WEBAUTHN_RP_ID": "example.com",
            "WEBAUTHN_RP_ORIGINS": " https://a.example.com/ ,,https://b.example.com",
        },
        ServerAddress="http://localhost:3000",
    )
    assert party.id == "example.com"
    assert party.origins == ["https://a.example.com", "https://b.example.com"]


def test_the_user_handle_is_the_id_as_eight_big_endian_bytes() -> None:
    assert user_handle(1) == b"\x00" * 7 + b"\x01"
    assert user_handle(258) == b"\x00" * 6 + b"\x01\x02"
    assert user_id_of(user_handle(123456789)) == 123456789
    assert user_id_of(b"\x01") is None
    assert user_id_of(None) is None


def test_a_ceremony_is_taken_once_and_expires() -> None:
    now = [1000.0]
    store = MemoryCeremonyStore(clock=lambda: now[0])

    async def run() -> None:
        await store.put("a", "one")
        await store.put("b", "two")
        assert await store.take("a") == "one"
        assert await store.take("a") is None
        now[0] += CEREMONY_SECONDS
        assert await store.take("b") is None
        await store.put("c", "three")
        now[0] += CEREMONY_SECONDS - 1
        await store.put("d", "four")  # sweeps nothing yet: c is still live
        assert await store.take("c") == "three"
        now[0] += CEREMONY_SECONDS
        await store.put("e", "five")  # sweeps d
        assert "d" not in store._entries

    asyncio.run(run())
