"""Per-channel prices: defaults by type, get/set a channel's model_configs, and the relay charging them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    setup = RelaySetup(server=server, root=root, user=make_user("pia", quota=10_000_000), key="", db=db)
    setup.key = setup.make_key()
    return setup


def test_default_pricing_lists_the_types_models(root: Api) -> None:
    data = root.get("/api/channel/default-pricing", params={"type": 1})["data"]["model_configs"]
    assert data["gpt-4o-mini"]["ratio"] == 0.075
    assert data["gpt-4o-mini"]["completion_ratio"] == 4
    assert root.get("/api/channel/default-pricing", params={"type": "x"})["success"] is False


def test_channel_prices_are_stored_and_charged(relay: RelaySetup, upstream: FakeOpenAI, root: Api) -> None:
    channel_id = relay.add_channel(upstream)
    assert root.get(f"/api/channel/pricing/{channel_id}")["data"] == {"model_configs": {}}
    configs = {"gpt-4o-mini": {"ratio": 1.0, "completion_ratio": 2.0}}
    assert root.put(f"/api/channel/pricing/{channel_id}", json={"model_configs": configs})["success"]
    assert root.get(f"/api/channel/pricing/{channel_id}")["data"]["model_configs"] == configs
    relay.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    relay.wait_flushed(1)
    # prompt 11 × 1.0 + completion 7 × 1.0 × 2.0 = 25 (the global price would give 3)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 25


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ({"m": {"ratio": -1}}, "model_configs['m'].ratio must be >= 0"),
        ({"m": {"ratio": "x"}}, "model_configs['m'].ratio must be a number"),
        ({"m": 3}, "model_configs['m'] must be an object"),
    ],
)
def test_bad_prices_are_refused(root: Api, configs: dict[str, object], message: str) -> None:
    created = root.post("/api/channel/", json={"name": "p", "type": 1, "key": "k", "models": "m"})
    assert created["success"], created
    channel_id = root.get("/api/channel/search", params={"keyword": "p"})["data"][0]["id"]
    answer = root.put(f"/api/channel/pricing/{channel_id}", json={"model_configs": configs})
    assert answer == {"success": False, "message": message}


def test_unknown_channel_and_role_rules(root: Api, make_user: Callable[..., Api]) -> None:
    assert root.get("/api/channel/pricing/999")["message"] == "Channel 999 does not exist"
    common = make_user("plain")
    assert common.http.get("/api/channel/pricing/1").status_code == 403
    assert common.http.get("/api/channel/default-pricing?type=1").status_code == 403
