"""GLOBAL_CHANNEL_RATE_LIMIT: a channel's `ratelimit` caps each key's requests to it per 180 s."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.rows import insert_user
from tests.support.server import LiveServer

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def _relay(server: LiveServer, db: sa.Engine) -> RelaySetup:
    insert_user(db, "cara", "password123", quota=1_000_000)
    root, user = Api(server.url), Api(server.url)
    root.login("root", "123456")
    user.login("cara", "password123")
    relay = RelaySetup(server=server, root=root, user=user, key="", db=db)
    relay.key = relay.make_key()
    return relay


def test_channel_ratelimit_caps_each_key(
    make_server: Callable[..., LiveServer], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _relay(make_server(GLOBAL_CHANNEL_RATE_LIMIT="true"), db)
    relay.add_channel(upstream, ratelimit=2)
    client = relay.client()
    client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert len(upstream.received) == 2
    other = relay.make_key(name="other")
    relay.client(key=other).chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert len(upstream.received) == 3
    relay.wait_flushed(3)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'cara'") == 1_000_000 - 9


def test_channel_ratelimit_is_off_without_the_switch(
    make_server: Callable[..., LiveServer], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _relay(make_server(), db)
    relay.add_channel(upstream, ratelimit=1)
    for _ in range(3):
        relay.client().chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert len(upstream.received) == 3
