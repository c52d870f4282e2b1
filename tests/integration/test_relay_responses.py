"""`/v1/responses` through the gateway with the official openai SDK, on every kind of channel.

Columns: a channel that speaks Responses (native pass-through, FakeResponses), an OpenAI Chat
channel (the chat fallback, FakeOpenAI) and an Anthropic channel (FakeAnthropic). Each case checks
the Responses answer or event sequence the caller got and the body the fake upstream received.
The stored-response routes (GET / input_items / cancel / DELETE) are checked on the native column.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_anthropic import SIGNATURE, THINKING, FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_responses import ENCRYPTED, STRUCTURED_REPLY, SUMMARY, FakeResponses
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer
from tests.support.threaded_server import Received


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Conversion does not depend on the database (billing on every backend is in
    test_relay_billing.py): one backend keeps this matrix quick."""
    return str(request.param)


USER_QUOTA = 10_000_000
UPSTREAMS = ("responses", "chat", "anthropic")
REASONER = "o4-mini"  # OpenAI refuses reasoning settings for its other models: they are dropped
MODELS = {"responses": "gpt-4.1", "chat": "gpt-4o-mini", "anthropic": "claude-sonnet-4"}
REPLIES = {
    "responses": "Hello from Responses.",
    "chat": "Hello from the fake upstream.",
    "anthropic": "Hello from Claude.",
}
PATHS = {"responses": "/v1/responses", "chat": "/v1/chat/completions", "anthropic": "/v1/messages"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


@dataclass
class Fakes:
    responses: FakeResponses
    chat: FakeOpenAI
    anthropic: FakeAnthropic


@dataclass
class Case:
    relay: RelaySetup
    fakes: Fakes
    upstream: str

    @property
    def model(self) -> str:
        return MODELS[self.upstream]

    @property
    def reply(self) -> str:
        return REPLIES[self.upstream]

    @property
    def fake(self) -> Any:
        return getattr(self.fakes, self.upstream)

    @property
    def sent(self) -> Received:
        received: Received = self.fake.received[-1]
        assert received.path == PATHS[self.upstream]
        return received

    def script(self, **fields: Any) -> None:
        for name, value in fields.items():
            if hasattr(self.fake.script, name):
                setattr(self.fake.script, name, value)

    def client(self) -> openai.OpenAI:
        return self.relay.client()


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    started = Fakes(FakeResponses().start(), FakeOpenAI().start(), FakeAnthropic().start())
    yield started
    for fake in (started.responses, started.chat, started.anthropic):
        fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, USER_QUOTA)


def connect(relay: RelaySetup, fakes: Fakes, upstream: str, **fields: Any) -> Case:
    fake = getattr(fakes, upstream)
    if upstream == "responses":
        fields.setdefault("type", 50)
        fields.setdefault("config", json.dumps({"api_format": "response"}))
    elif upstream == "anthropic":
        fields.setdefault("type", 14)
    fields.setdefault("models", MODELS[upstream] + ("" if upstream == "anthropic" else f",{REASONER}"))
    relay.add_channel(fake, name=f"fake-{upstream}", **fields)
    return Case(relay, fakes, upstream)


# ---- the matrix: Responses caller × upstream -------------------------------------------------


def plain(case: Case) -> None:
    reply = case.client().responses.create(
        model=case.model, instructions="Be brief", input="Say hi", max_output_tokens=50
    )
    assert reply.output_text == case.reply
    assert reply.status == "completed" and reply.model == case.model
    assert reply.instructions == "Be brief"
    assert reply.usage is not None and reply.usage.output_tokens > 0
    body = case.sent.body
    if case.upstream == "responses":
        assert body == {
            "model": case.model,
            "instructions": "Be brief",
            "input": "Say hi",
            "max_output_tokens": 50,
        }
        assert reply.id.startswith("resp_fake")
    else:
        assert reply.id.startswith("resp_")
        if case.upstream == "chat":
            assert body["messages"] == [
                {"role": "system", "content": "Be brief"},
                {"role": "user", "content": "Say hi"},
            ]
        else:
            assert body["system"] == "Be brief" and body["messages"] == [
                {"role": "user", "content": "Say hi"}
            ]
        assert body.get("max_tokens", body.get("max_completion_tokens")) == 50


def stream(case: Case) -> None:
    events = list(case.client().responses.create(model=case.model, input="Say hi", stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_item.added" in kinds and "response.output_text.done" in kinds
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == case.reply
    numbers = [event.sequence_number for event in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == case.reply
    assert final.usage is not None and final.usage.output_tokens > 0
    assert case.sent.body["stream"] is True


def tools(case: Case) -> None:
    case.script(tool_call=True)
    reply = case.client().responses.create(model=case.model, input="Weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    calls = [item for item in reply.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments) == {"city": "Paris"}
    assert calls[0].call_id in ("call_fake1", "call_1", "toolu_01")
    sent_tools = case.sent.body["tools"]
    if case.upstream == "chat":
        assert sent_tools[0]["function"]["name"] == "get_weather"
    elif case.upstream == "anthropic":
        assert sent_tools[0]["name"] == "get_weather" and "input_schema" in sent_tools[0]
    else:
        assert sent_tools == [WEATHER]


def streamed_tools(case: Case) -> None:
    case.script(tool_call=True)
    events = list(
        case.client().responses.create(model=case.model, input="Weather?", tools=[WEATHER], stream=True)  # type: ignore[list-item]
    )
    added = [
        e.item for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"
    ]  # type: ignore[union-attr]
    assert len(added) == 1 and added[0].name == "get_weather"  # type: ignore[union-attr]
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")  # type: ignore[union-attr]
    assert json.loads(arguments) == {"city": "Paris"}
    final = events[-1].response  # type: ignore[union-attr]
    calls = [item for item in final.output if item.type == "function_call"]
    assert json.loads(calls[0].arguments) == {"city": "Paris"}


def tool_history(case: Case) -> None:
    history: list[Any] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "function_call",
            "call_id": "call_9",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_9", "output": "Sunny, 21C"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "And tomorrow?"},
    ]
    reply = case.client().responses.create(model=case.model, input=history, tools=[WEATHER])  # type: ignore[list-item]
    assert reply.output_text == case.reply
    body = case.sent.body
    if case.upstream == "chat":
        messages = body["messages"]
        assert messages[1]["tool_calls"][0]["id"] == "call_9"
        assert messages[1]["tool_calls"][0]["function"] == {
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        }
        assert messages[2] == {"role": "tool", "tool_call_id": "call_9", "content": "Sunny, 21C"}
        assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    elif case.upstream == "anthropic":
        messages = body["messages"]
        assert messages[1]["content"][0] == {
            "type": "tool_use",
            "id": "call_9",
            "name": "get_weather",
            "input": {"city": "Paris"},
        }
        assert messages[2]["content"][0]["type"] == "tool_result"
        assert messages[2]["content"][0]["tool_use_id"] == "call_9"
    else:
        assert body["input"] == history


def structured(case: Case) -> None:
    case.script(reply=STRUCTURED_REPLY)
    text_format = {
        "format": {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}
    }
    reply = case.client().responses.create(model=case.model, input="The answer?", text=text_format)  # type: ignore[arg-type]
    assert json.loads(reply.output_text) == {"answer": 42}
    body = case.sent.body
    if case.upstream == "chat":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == ANSWER_SCHEMA
    elif case.upstream == "anthropic":
        assert body["output_config"]["format"]["schema"]["properties"] == ANSWER_SCHEMA["properties"]
    else:
        assert body["text"] == text_format


def image(case: Case) -> None:
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PIXEL}", "detail": "auto"},
    ]
    reply = case.client().responses.create(model=case.model, input=[{"role": "user", "content": content}])  # type: ignore[list-item, misc]
    assert reply.output_text == case.reply
    sent = case.sent.body
    if case.upstream == "chat":
        parts = sent["messages"][0]["content"]
        assert parts[1]["type"] == "image_url" and parts[1]["image_url"]["url"].endswith(PIXEL)
    elif case.upstream == "anthropic":
        block = sent["messages"][0]["content"][1]
        assert block["type"] == "image" and block["source"]["data"] == PIXEL
    else:
        assert sent["input"][0]["content"] == content


def reasoning(case: Case) -> None:
    if case.upstream == "chat":
        case.script(reasoning="Because.")  # DeepSeek-style reasoning_content
    else:
        case.script(reasoning=True, thinking=True)
    model = case.model if case.upstream == "anthropic" else REASONER
    reply = case.client().responses.create(
        model=model, input="Think", reasoning={"effort": "medium"}, max_output_tokens=4000
    )
    items = [item for item in reply.output if item.type == "reasoning"]
    assert len(items) == 1
    summary = " ".join(part.text for part in items[0].summary)
    if case.upstream == "anthropic":
        assert summary == THINKING and items[0].encrypted_content == SIGNATURE
        assert case.sent.body["thinking"]["type"] == "enabled"
    elif case.upstream == "responses":
        assert summary == SUMMARY and items[0].encrypted_content == ENCRYPTED
        assert case.sent.body["reasoning"] == {"effort": "medium"}
    else:
        assert summary == "Because."
        assert case.sent.body["reasoning_effort"] == "medium"


CASES: dict[str, Callable[[Case], None]] = {
    "plain": plain,
    "stream": stream,
    "tools": tools,
    "streamed-tools": streamed_tools,
    "tool-history": tool_history,
    "structured": structured,
    "image": image,
    "reasoning": reasoning,
}


@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize("name", list(CASES))
def test_matrix(relay: RelaySetup, fakes: Fakes, upstream: str, name: str) -> None:
    case = connect(relay, fakes, upstream)
    CASES[name](case)
    relay.wait_flushed(1)
    assert relay.scalar("SELECT model_name FROM logs WHERE type = 2") in (case.model, REASONER)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") > 0


# ---- billing, fast lane, refusals, errors ------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_native_usage_is_billed_with_cached_tokens(relay: RelaySetup, fakes: Fakes, stream: bool) -> None:
    case = connect(relay, fakes, "responses")
    case.script(input_tokens=1000, cached_tokens=400, output_tokens=100)
    if stream:
        list(case.client().responses.create(model=case.model, input="x", stream=True))
    else:
        case.client().responses.create(model=case.model, input="x")
    relay.wait_flushed(1)
    assert relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == 1000
    assert relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2") == 100
    assert relay.scalar("SELECT cached_prompt_tokens FROM logs WHERE type = 2") == 400
    debited = USER_QUOTA - relay.scalar("SELECT quota FROM users WHERE username = 'alice'")
    assert debited == relay.scalar("SELECT quota FROM logs WHERE type = 2") > 0


def test_native_fast_lane_forwards_unknown_fields_and_renames_mapped_model(
    relay: RelaySetup, fakes: Fakes
) -> None:
    connect(relay, fakes, "responses", models="my-model", model_mapping=json.dumps({"my-model": "gpt-4.1"}))
    reply = relay.client().responses.create(
        model="my-model", input="x", extra_body={"no_converter_knows_this": {"a": [1, 2]}}
    )
    assert reply.model == "my-model"
    sent = fakes.responses.received[-1].body
    assert sent["model"] == "gpt-4.1" and sent["no_converter_knows_this"] == {"a": [1, 2]}


def test_native_fast_lane_drops_sampling_for_reasoning_models(relay: RelaySetup, fakes: Fakes) -> None:
    connect(relay, fakes, "responses", models="gpt-5")
    relay.client().responses.create(model="gpt-5", input="x", temperature=0.3, top_p=0.5)
    sent = fakes.responses.received[-1].body
    assert "temperature" not in sent and "top_p" not in sent and sent["input"] == "x"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prompt", {"id": "pmpt_1"}, "prompt templates are not supported for this channel"),
        ("background", True, "background responses are not supported for this channel"),
    ],
)
def test_fallback_refuses_what_chat_cannot_do(
    relay: RelaySetup, fakes: Fakes, field: str, value: Any, message: str
) -> None:
    case = connect(relay, fakes, "chat")
    with pytest.raises(openai.BadRequestError) as caught:
        case.client().responses.create(model=case.model, input="x", extra_body={field: value})
    assert message in str(caught.value)
    assert fakes.chat.received == []
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


@pytest.mark.parametrize("upstream", ["responses", "chat"])
def test_upstream_error_reaches_responses_caller_with_its_status(
    relay: RelaySetup, fakes: Fakes, upstream: str
) -> None:
    case = connect(relay, fakes, upstream)
    error = {"error": {"message": "bad thing", "type": "invalid_request_error", "param": None, "code": None}}
    case.script(failures=[(400, error)])
    with pytest.raises(openai.BadRequestError) as caught:
        case.client().responses.create(model=case.model, input="x")
    body = caught.value.body
    assert isinstance(body, dict) and body["message"].startswith("bad thing")
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


def _raw_stream(relay: RelaySetup, model: str) -> str:
    with httpx.stream(
        "POST",
        f"{relay.server.url}/v1/responses",
        json={"model": model, "input": "x", "stream": True},
        headers={"Authorization": f"Bearer {relay.key}"},
    ) as resp:
        assert resp.status_code == 200
        return resp.read().decode()


def test_cut_converted_stream_ends_with_error_and_failed_events(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "anthropic")
    fakes.anthropic.script.cut = True
    text = _raw_stream(relay, case.model)
    assert text.startswith("event: response.created")
    assert "event: error" in text and "response.completed" not in text
    assert "[DONE]" not in text
    relay.wait_flushed(1)


def test_native_error_event_passes_through(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "responses")
    fakes.responses.script.error_event = True
    text = _raw_stream(relay, case.model)
    assert "event: error" in text and "event: response.failed" in text
    relay.wait_flushed(1)


def test_converted_stream_is_openai_s_event_sequence(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "chat")
    text = _raw_stream(relay, case.model)
    kinds = [line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "[DONE]" not in text


def test_responses_body_on_chat_route_is_served_as_responses(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "chat")
    resp = httpx.post(
        f"{relay.server.url}/v1/chat/completions",
        json={"model": case.model, "input": "Say hi", "instructions": "Be brief"},
        headers={"Authorization": f"Bearer {relay.key}"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["object"] == "response"
    assert fakes.chat.received[-1].body["messages"][0] == {"role": "system", "content": "Be brief"}


# ---- stored responses ------------------------------------------------------------------------


def test_stored_response_routes_reach_the_channel_that_made_it(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "responses")
    client = case.client()
    made = client.responses.create(model=case.model, input="Remember me")
    got = client.responses.retrieve(made.id)
    assert got.id == made.id and got.output_text == case.reply
    items = client.responses.input_items.list(made.id)
    assert [item.type for item in items.data] == ["message"]
    cancelled = client.responses.cancel(made.id)
    assert cancelled.status == "cancelled"
    client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)
    methods = [(r.method, r.path) for r in fakes.responses.received]
    assert methods[1:] == [
        ("GET", f"/v1/responses/{made.id}"),
        ("GET", f"/v1/responses/{made.id}/input_items"),
        ("POST", f"/v1/responses/{made.id}/cancel"),
        ("DELETE", f"/v1/responses/{made.id}"),
        ("GET", f"/v1/responses/{made.id}"),
    ]
    assert all(r.headers["Authorization"] == "Bearer upstream-key" for r in fakes.responses.received)


def test_stored_response_of_another_user_is_not_found(
    relay: RelaySetup, fakes: Fakes, make_user: Callable[..., Api]
) -> None:
    case = connect(relay, fakes, "responses")
    made = case.client().responses.create(model=case.model, input="mine")
    other = RelaySetup(
        server=relay.server, root=relay.root, user=make_user("bob", quota=1000), key="", db=relay.db
    )
    other.key = other.make_key()
    with pytest.raises(openai.NotFoundError):
        other.client().responses.retrieve(made.id)
    assert [r.method for r in fakes.responses.received] == ["POST"]


def test_unknown_response_id_is_looked_for_on_responses_channels(relay: RelaySetup, fakes: Fakes) -> None:
    connect(relay, fakes, "chat")  # cannot hold stored responses: never asked
    case = connect(relay, fakes, "responses")
    made = httpx.post(
        f"{fakes.responses.url}/v1/responses",
        json={"model": case.model, "input": "made elsewhere"},
        headers={"Authorization": "Bearer upstream-key"},
    ).json()
    got = case.client().responses.retrieve(made["id"])
    assert got.id == made["id"]
    with pytest.raises(openai.NotFoundError) as caught:
        case.client().responses.retrieve("resp_nobody")
    assert "resp_nobody" in str(caught.value)
    assert fakes.chat.received == []


def test_stored_routes_need_a_valid_key(relay: RelaySetup, fakes: Fakes) -> None:
    resp = httpx.get(f"{relay.server.url}/v1/responses/resp_1", headers={"Authorization": "Bearer sk-wrong"})
    assert resp.status_code == 401 and "error" in resp.json()


def test_channel_test_on_a_responses_only_channel_speaks_responses(relay: RelaySetup, fakes: Fakes) -> None:
    channel_id = connect(relay, fakes, "responses").relay.scalar("SELECT MAX(id) FROM channels")
    result = relay.root.get(f"/api/channel/test/{channel_id}")
    assert result["success"] is True, result
    assert result["message"] == REPLIES["responses"]
    sent = fakes.responses.received[-1]
    assert sent.path == "/v1/responses" and sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.body["input"][0]["role"] == "user" and sent.body["model"] == MODELS["responses"]


@pytest.mark.parametrize(
    ("route", "body", "target"),
    [
        ("/v1/chat/completions", {"model": "m", "input": "x"}, "/v1/responses"),
        (
            "/v1/responses",
            {"model": "m", "messages": [{"role": "system", "content": "s"}]},
            "/v1/chat/completions",
        ),
        (
            "/v1/chat/completions",
            {"model": "m", "max_tokens": 5, "system": "s", "messages": []},
            "/v1/messages",
        ),
    ],
)
def test_redirect_action_sends_misrouted_bodies_to_their_endpoint(
    make_server: Callable[..., LiveServer],
    make_user: Callable[..., Api],
    route: str,
    body: dict[str, Any],
    target: str,
) -> None:
    server = make_server(AUTO_DETECT_API_FORMAT_ACTION="redirect")
    key = RelaySetup(
        server=server, root=None, user=make_user("alice", quota=1000), key="", db=None
    ).make_key()  # type: ignore[arg-type]
    resp = httpx.post(
        f"{server.url}{route}?thinking=true", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status_code == 302
    assert resp.headers["location"] == f"{target}?thinking=true"
