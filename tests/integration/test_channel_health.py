"""Channel health end to end: tests, the sweep, automatic disable/enable, balances (SPEC §4.4, §4.5, §7.2)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

BAD_KEY = (
    401,
    {
        "error": {
            "message": "Incorrect API key provided: upstream-key",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    },
)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    user = make_user("alice", quota=10_000_000)
    setup = RelaySetup(server=server, root=root, user=user, key="", db=db)
    setup.key = setup.make_key()
    return setup


def set_option(root: Api, key: str, value: str) -> None:
    answer = root.put("/api/option/", json={"key": key, "value": value})
    assert answer["success"], answer


def channel_row(relay: RelaySetup, channel_id: int) -> dict[str, Any]:
    with relay.db.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM channels WHERE id = :id"), {"id": channel_id}).mappings()
        return dict(row.one())


def abilities_enabled(relay: RelaySetup, channel_id: int) -> set[bool]:
    with relay.db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT enabled FROM abilities WHERE channel_id = :id"), {"id": channel_id}
        )
        return {bool(r[0]) for r in rows}


def wait_until(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def ask(relay: RelaySetup) -> str:
    reply = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    return reply.choices[0].message.content or ""


def test_healthy_channel_is_tested_with_the_configured_prompt(
    make_server: Callable[..., LiveServer], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    server = make_server(TEST_PROMPT="Reply with OK", TEST_MAX_TOKENS="16")
    root = Api(server.url)
    root.login("root", "123456")
    relay = RelaySetup(server=server, root=root, user=root, key="", db=db)
    channel_id = relay.add_channel(upstream, models="gpt-4o-mini,gpt-4o")
    upstream.script.delay = 0.05

    answer = root.get(f"/api/channel/test/{channel_id}")

    assert answer["success"] is True
    assert answer["message"] == "Hello from the fake upstream."
    assert answer["modelName"] == "gpt-4o-mini"  # the channel's first model
    assert answer["time"] >= 0.05
    assert set(answer) == {"success", "message", "time", "modelName"}
    sent = upstream.received[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Reply with OK"}],
    }
    row = channel_row(relay, channel_id)
    assert row["response_time"] == round(answer["time"] * 1000)
    assert abs(row["test_time"] - time.time()) < 10
    # Tests are free: no log row, no quota moved.
    assert relay.scalar("SELECT COUNT(*) FROM logs") == 0
    assert relay.scalar("SELECT used_quota FROM channels WHERE id = :id", id=channel_id) == 0
    root.close()


def test_model_choice_query_then_testing_model_then_mapping(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel_id = relay.add_channel(
        upstream, models="gpt-4o-mini,gpt-4o,o3-mini", model_mapping='{"gpt-4o": "gpt-4o-2024-08-06"}'
    )
    answer = relay.root.get(f"/api/channel/test/{channel_id}", params={"model": "gpt-4o"})
    assert answer["success"] and answer["modelName"] == "gpt-4o"
    assert upstream.received[-1].body["model"] == "gpt-4o-2024-08-06"

    refused = relay.root.get(f"/api/channel/test/{channel_id}", params={"model": "claude-3-haiku-20240307"})
    assert refused["success"] is False
    assert "does not support" in refused["message"]

    updated = relay.root.put("/api/channel/", json={"id": channel_id, "testing_model": "o3-mini"})
    assert updated["success"], updated
    answer = relay.root.get(f"/api/channel/test/{channel_id}")
    assert answer["modelName"] == "o3-mini"
    # Through the provider's request rules: a reasoning model gets max_completion_tokens.
    assert upstream.received[-1].body["max_completion_tokens"] == 1024
    assert "max_tokens" not in upstream.received[-1].body

    missing = relay.root.get("/api/channel/test/99999")
    assert missing == {"success": False, "message": "Channel 99999 does not exist"}


def test_empty_reply_is_a_failure(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel_id = relay.add_channel(upstream)
    upstream.script.reply = ""
    answer = relay.root.get(f"/api/channel/test/{channel_id}")
    assert answer["success"] is False
    assert answer["message"] == "response content is empty"
    assert answer["time"] == 0
    assert channel_row(relay, channel_id)["response_time"] == 0


def test_broken_channel_is_disabled_then_re_enabled_when_it_recovers(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    channel_id = relay.add_channel(upstream)
    assert ask(relay)  # routed before anything happens
    set_option(relay.root, "AutomaticDisableChannelEnabled", "true")
    upstream.script.failures = [BAD_KEY]

    answer = relay.root.get(f"/api/channel/test/{channel_id}")

    assert answer["success"] is False
    assert "Incorrect API key provided" in answer["message"]
    assert answer["time"] == 0
    row = channel_row(relay, channel_id)
    assert row["status"] == 3 and row["response_time"] == 0
    assert abilities_enabled(relay, channel_id) == {False}
    with pytest.raises(openai.APIStatusError) as info:
        ask(relay)
    assert info.value.status_code == 503

    # Healthy again, but automatic enabling is off: the channel stays disabled.
    assert relay.root.get(f"/api/channel/test/{channel_id}")["success"] is True
    assert channel_row(relay, channel_id)["status"] == 3

    set_option(relay.root, "AutomaticEnableChannelEnabled", "true")
    assert relay.root.get(f"/api/channel/test/{channel_id}")["success"] is True
    assert channel_row(relay, channel_id)["status"] == 1
    assert abilities_enabled(relay, channel_id) == {True}
    served = len(upstream.received)
    assert ask(relay) == "Hello from the fake upstream."
    assert len(upstream.received) == served + 1


def test_failures_that_do_not_condemn_the_key_leave_the_channel_enabled(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    channel_id = relay.add_channel(upstream)
    set_option(relay.root, "AutomaticDisableChannelEnabled", "true")
    upstream.script.failures = [(500, {"error": {"message": "boom", "type": "server_error"}})]
    answer = relay.root.get(f"/api/channel/test/{channel_id}")
    assert answer == {"success": False, "message": "boom", "time": 0, "modelName": "gpt-4o-mini"}
    assert channel_row(relay, channel_id)["status"] == 1


def test_auto_disable_needs_its_option(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel_id = relay.add_channel(upstream)
    upstream.script.failures = [BAD_KEY]
    assert relay.root.get(f"/api/channel/test/{channel_id}")["success"] is False
    assert channel_row(relay, channel_id)["status"] == 1


def test_sweep_runs_in_the_background_once_at_a_time(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    ids = [relay.add_channel(upstream, name=f"c{i}") for i in range(3)]
    relay.root.put("/api/channel/?status_only=1", json={"id": ids[2], "status": 2})
    upstream.script.delay = 0.3

    started = time.monotonic()
    first = relay.root.get("/api/channel/test")
    assert time.monotonic() - started < 0.3
    assert first == {"success": True, "message": ""}
    assert relay.root.get("/api/channel/test") == {"success": False, "message": "Test is already running"}

    wait_until(lambda: all(channel_row(relay, i)["test_time"] > 0 for i in ids))
    assert all(channel_row(relay, i)["response_time"] >= 300 for i in ids)
    assert [channel_row(relay, i)["status"] for i in ids] == [1, 1, 2]  # manual disable is kept
    assert relay.root.get("/api/channel/test", params={"scope": "nope"})["success"] is False


def test_sweep_disables_slow_channels_and_revives_them(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    slow = relay.add_channel(upstream, name="slow")
    set_option(relay.root, "AutomaticDisableChannelEnabled", "true")
    set_option(relay.root, "ChannelDisableThreshold", "0.2")
    upstream.script.delay = 0.4

    assert relay.root.get("/api/channel/test")["success"] is True
    wait_until(lambda: channel_row(relay, slow)["status"] == 3)
    assert channel_row(relay, slow)["response_time"] >= 400  # slow, but it did answer

    upstream.script.delay = 0
    set_option(relay.root, "AutomaticEnableChannelEnabled", "true")
    wait_until(lambda: relay.root.get("/api/channel/test", params={"scope": "disabled"})["success"])
    wait_until(lambda: channel_row(relay, slow)["status"] == 1)
    assert abilities_enabled(relay, slow) == {True}
    assert ask(relay) == "Hello from the fake upstream."


def test_periodic_sweep_is_scheduled_and_stopped_with_the_app(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(CHANNEL_TEST_FREQUENCY="1")
    (jobs,) = [b for b in server.state.background if type(b).__name__ == "ChannelJobs"]
    (timer,) = jobs._timers
    assert not timer.done()
    server.stop()
    assert timer.cancelled()


def test_openai_style_balance(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel_id = relay.add_channel(upstream)
    answer = relay.root.get(f"/api/channel/update_balance/{channel_id}")
    assert answer == {"success": True, "message": "", "balance": 74.5}  # 100 USD - 2550 cents
    row = channel_row(relay, channel_id)
    assert row["balance"] == pytest.approx(74.5)
    assert abs(row["balance_updated_time"] - time.time()) < 10
    subscription, usage = upstream.received[-2:]
    assert subscription.path == "/v1/dashboard/billing/subscription"
    assert subscription.headers["Authorization"] == "Bearer upstream-key"
    today = date.today()
    assert usage.path == "/v1/dashboard/billing/usage"
    assert usage.query == f"start_date={today.replace(day=1)}&end_date={today}"

    upstream.script.has_payment_method = False
    relay.root.get(f"/api/channel/update_balance/{channel_id}")
    assert upstream.received[-1].query == f"start_date={today - timedelta(days=100)}&end_date={today}"


@pytest.mark.parametrize("channel_type", [36, 20, 44], ids=["deepseek", "openrouter", "siliconflow"])
def test_vendor_balance(relay: RelaySetup, upstream: FakeOpenAI, channel_type: int) -> None:
    channel_id = relay.add_channel(upstream, type=channel_type)
    answer = relay.root.get(f"/api/channel/update_balance/{channel_id}")
    assert answer == {"success": True, "message": "", "balance": 42.5}


def test_balance_of_unsupported_type_is_refused(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel_id = relay.add_channel(upstream, type=14)  # Anthropic
    answer = relay.root.get(f"/api/channel/update_balance/{channel_id}")
    assert answer["success"] is False
    assert "not supported" in answer["message"]
    assert channel_row(relay, channel_id)["balance_updated_time"] == 0
    upstream.script.failures = [(401, {"error": {"message": "no"}})]
    broken = relay.add_channel(upstream, name="broken")
    answer = relay.root.get(f"/api/channel/update_balance/{broken}")
    assert answer == {"success": False, "message": "status code: 401"}


def test_all_balances_refresh_in_the_background(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    enabled = relay.add_channel(upstream, name="on")
    disabled = relay.add_channel(upstream, name="off")
    relay.root.put("/api/channel/?status_only=1", json={"id": disabled, "status": 2})
    assert relay.root.get("/api/channel/update_balance") == {"success": True, "message": ""}
    wait_until(lambda: channel_row(relay, enabled)["balance_updated_time"] > 0)
    assert channel_row(relay, enabled)["balance"] == pytest.approx(74.5)
    assert channel_row(relay, disabled)["balance_updated_time"] == 0


def test_only_administrators_may_test_or_refresh(
    relay: RelaySetup, upstream: FakeOpenAI, anon: Api, make_user: Callable[..., Api]
) -> None:
    channel_id = relay.add_channel(upstream)
    paths = [
        "/api/channel/test",
        f"/api/channel/test/{channel_id}",
        "/api/channel/update_balance",
        f"/api/channel/update_balance/{channel_id}",
    ]
    admin = make_user("boss", role=10)
    for path in paths:
        assert relay.user.http.get(path).status_code == 403
        assert anon.http.get(path).status_code == 401
    assert upstream.received == []
    assert admin.get(f"/api/channel/test/{channel_id}")["success"] is True
