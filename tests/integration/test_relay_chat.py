"""The OpenAI-format relay end to end: official SDK → gateway → fake upstream, billing checked in SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

USER_QUOTA = 10_000_000


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, USER_QUOTA)


def test_chat_completion_is_relayed_and_billed(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    reply = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}]
    )
    assert reply.choices[0].message.content == "Hello from the fake upstream."
    sent = upstream.received[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.headers["Accept-Encoding"] == "identity"  # bodies are read as JSON, never compressed
    assert sent.body["messages"] == [{"role": "user", "content": "Say hi"}]
    relay.wait_flushed(1)
    # SPEC §5.3 worked example: gpt-4o-mini, prompt 11, completion 7 → 3 quota.
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 3
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA - 3
    assert relay.scalar("SELECT used_quota FROM users WHERE username = 'alice'") == 3
    assert relay.scalar("SELECT request_count FROM users WHERE username = 'alice'") == 1
    assert relay.scalar("SELECT used_quota FROM tokens WHERE name = 'k'") == 3
    assert relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == 11
    assert relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2") == 7


def test_every_response_has_a_request_id(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    raw = relay.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
    )
    rid = raw.headers["x-oneapi-request-id"]
    assert len(rid) >= 20 and rid.isdigit()
    relay.wait_flushed(1)
    assert relay.scalar("SELECT request_id FROM logs WHERE type = 2") == rid


def test_stream_is_relayed_chunk_by_chunk_with_usage(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    stream = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the fake upstream."
    assert upstream.received[-1].body["stream_options"] == {"include_usage": True}
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 3
    assert relay.scalar("SELECT is_stream FROM logs WHERE type = 2") in (1, True)


def test_stream_chunk_larger_than_64k_survives(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    upstream.script.big_chunk = 200_000
    stream = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.endswith("x" * 200_000)


def test_stream_without_upstream_usage_is_counted_locally(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    upstream.script.send_usage = False
    list(
        relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    relay.wait_flushed(1)
    completion = relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2")
    prompt = relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2")
    assert 5 <= completion <= 12  # "Hello from the fake upstream." is about 7 tokens
    assert prompt == 8  # counted after the stream (the reservation was waived): (3 + 1 + 1) + 3


def test_answers_without_upstream_usage_bill_the_exact_prompt_count(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    # A well-funded key's reservation is waived without counting the prompt; it is counted only
    # because these answers carry no usage, and must come out as One API counts it up front.
    relay.add_channel(upstream)
    upstream.script.send_usage = False
    client = relay.client()
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hello world")
    client.embeddings.create(model="text-embedding-3-small", input=["hello world", "hi"])
    relay.wait_flushed(3)
    rows = relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2")
    assert rows == 3
    prompts = {
        model: relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2 AND model_name = :m", m=model)
        for model in ("gpt-4o-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small")
    }
    assert prompts == {"gpt-4o-mini": 8, "gpt-3.5-turbo-instruct": 2, "text-embedding-3-small": 3}


def test_model_mapping_is_hidden_from_the_client(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream, model_mapping='{"gpt-4o-mini": "gpt-4o"}')
    reply = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert upstream.received[-1].body["model"] == "gpt-4o"
    assert reply.model == "gpt-4o-mini"
    relay.wait_flushed(1)
    assert relay.scalar("SELECT model_name FROM logs WHERE type = 2") == "gpt-4o"
    assert relay.scalar("SELECT origin_model_name FROM logs WHERE type = 2") == "gpt-4o-mini"


def test_channel_system_prompt_is_forced(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream, system_prompt="You are terse.")
    relay.client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be verbose"}, {"role": "user", "content": "hi"}],
    )
    assert upstream.received[-1].body["messages"][0] == {"role": "system", "content": "You are terse."}


def test_unknown_fields_reach_the_upstream_untouched(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    relay.client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"x_custom_field": {"nested": [1, 2, 3]}},
    )
    assert upstream.received[-1].body["x_custom_field"] == {"nested": [1, 2, 3]}


def test_retry_moves_to_the_next_channel_after_a_500(
    relay: RelaySetup, upstream: FakeOpenAI, root: Api
) -> None:
    broken = FakeOpenAI().start()
    try:
        broken.script.failures = [(500, {"error": {"message": "boom", "type": "server_error"}})] * 5
        relay.add_channel(broken, name="broken", priority=10)
        relay.add_channel(upstream, name="good", priority=0)
        assert root.put("/api/option/", json={"key": "RetryTimes", "value": "2"})["success"]
        reply = relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "Hello from the fake upstream."
        assert len(broken.received) == 1 and len(upstream.received) == 1
    finally:
        broken.stop()


def test_upstream_error_passes_through_with_status_and_refund(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    relay.add_channel(upstream)
    upstream.script.failures = [
        (400, {"error": {"message": "bad things", "type": "invalid_request_error", "code": "bad_thing"}})
    ]
    with pytest.raises(openai.BadRequestError) as info:
        relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == 400
    assert "bad things (request id: " in str(info.value)
    body = info.value.body
    assert isinstance(body, dict) and body["code"] == "bad_thing"
    relay.wait_flushed(0)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


def test_429_suspends_the_channel(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    upstream.script.failures = [(429, {"error": {"message": "slow down", "type": "rate_limit"}})]
    with pytest.raises(openai.RateLimitError):
        relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.APIStatusError) as info:
        relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == 503
    assert len(upstream.received) == 1


def test_no_channel_for_the_model_is_503(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    with pytest.raises(openai.APIStatusError) as info:
        relay.client().chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == 503
    assert "No available channels for Model no-such-model under Group default" in str(info.value)


def test_bad_keys_are_refused_with_401(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    with pytest.raises(openai.AuthenticationError) as info:
        relay.client(key="sk-" + "x" * 48).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert "token not found for key" in str(info.value)


def test_body_that_is_not_json_is_a_400(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    response = relay.user.http.post(
        relay.server.url + "/v1/chat/completions",
        content=b"{not json",
        headers={"Authorization": f"Bearer {relay.key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_text_request"


def test_model_allow_list_is_enforced(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    key = relay.make_key(name="narrow", models="gpt-4o")
    with pytest.raises(openai.PermissionDeniedError) as info:
        relay.client(key=key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert "does not have permission to use the model: gpt-4o-mini" in str(info.value)


def test_embeddings_and_moderations(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    client = relay.client()
    out = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(out.data) == 2
    mod = client.moderations.create(input="hello")
    assert mod.results[0].flagged is False
    assert upstream.received[-1].body["model"] == "text-moderation-stable"
    relay.wait_flushed(2)


def test_not_implemented_routes_are_501(relay: RelaySetup) -> None:
    response = relay.user.http.get(
        relay.server.url + "/v1/files", headers={"Authorization": f"Bearer {relay.key}"}
    )
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "api_not_implemented"


def test_admin_key_can_pin_a_channel_common_user_cannot(
    relay: RelaySetup, upstream: FakeOpenAI, root: Api
) -> None:
    second = FakeOpenAI().start()
    try:
        relay.add_channel(upstream, name="first", priority=10)
        pinned_id = relay.add_channel(second, name="second", priority=0)
        with pytest.raises(openai.PermissionDeniedError) as info:
            relay.client(key=f"{relay.key}-{pinned_id}").chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        assert "Ordinary users do not support specifying channels" in str(info.value)
        created = root.post("/api/token/", json={"name": "admin-key", "unlimited_quota": True})
        admin_key = created["data"]["key"]
        relay.client(key=f"{admin_key}-{pinned_id}").chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert len(second.received) == 1 and len(upstream.received) == 0
    finally:
        second.stop()


def test_tool_calls_and_tool_history_are_relayed(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    upstream.script.tool_call = True
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    first = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_1",
        "get_weather",
        '{"city":"Paris"}',
    )
    assert upstream.received[-1].body["tools"] == tools
    upstream.script.tool_call = False
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18°C, sunny"},
    ]
    second = relay.client().chat.completions.create(model="gpt-4o-mini", messages=history, tools=tools)
    assert second.choices[0].message.content == "Hello from the fake upstream."
    assert upstream.received[-1].body["messages"] == history
    relay.wait_flushed(2)
