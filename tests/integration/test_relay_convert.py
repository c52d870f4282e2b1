"""Any format in, any protocol out: official SDKs → gateway → fake OpenAI / Anthropic upstreams.

The matrix is {Chat (openai SDK), Claude Messages (anthropic SDK)} inbound × {OpenAI, Anthropic}
upstream × the cases below; each case checks what the caller got in its own protocol and what
the fake upstream received in its own. New formats add a column to `UPSTREAMS` and cases here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_anthropic import SIGNATURE, STRUCTURED_REPLY, THINKING, FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer
from tests.support.threaded_server import Received


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Conversion does not depend on the database (billing on every backend is in
    test_relay_billing.py): one backend keeps this large matrix quick."""
    return str(request.param)


USER_QUOTA = 10_000_000
UPSTREAMS = ("openai", "anthropic")
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4"}
TYPES = {"openai": 1, "anthropic": 14}
REPLIES = {"openai": "Hello from the fake upstream.", "anthropic": "Hello from Claude."}
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
REASONING = "Thinking it through."


@dataclass
class Fakes:
    openai: FakeOpenAI
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
    def sent(self) -> Received:
        fake = self.fakes.openai if self.upstream == "openai" else self.fakes.anthropic
        return fake.received[-1]

    def script(self, **fields: Any) -> None:
        target = self.fakes.openai.script if self.upstream == "openai" else self.fakes.anthropic.script
        for name, value in fields.items():
            if hasattr(target, name):
                setattr(target, name, value)

    def claude(self, **kwargs: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.relay.server.url, api_key=self.relay.key, max_retries=0, **kwargs
        )


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    both = Fakes(FakeOpenAI().start(), FakeAnthropic().start())
    yield both
    both.openai.stop()
    both.anthropic.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, USER_QUOTA)


def connect(relay: RelaySetup, fakes: Fakes, upstream: str) -> Case:
    fake = fakes.openai if upstream == "openai" else fakes.anthropic
    relay.add_channel(fake, type=TYPES[upstream], models=MODELS[upstream], name=f"fake-{upstream}")  # type: ignore[arg-type]
    return Case(relay, fakes, upstream)


def upstream_messages(case: Case) -> list[dict[str, Any]]:
    body = case.sent.body
    assert case.sent.path == ("/v1/chat/completions" if case.upstream == "openai" else "/v1/messages")
    if case.upstream == "anthropic":
        assert case.sent.headers["x-api-key"] == "upstream-key"
        assert case.sent.headers["anthropic-version"]  # the caller's, else 2023-06-01
    return list(body["messages"])


# ---- Chat inbound ----------------------------------------------------------------------------


def chat_plain(case: Case) -> None:
    reply = case.relay.client().chat.completions.create(
        model=case.model, messages=[{"role": "user", "content": "Say hi"}]
    )
    assert reply.choices[0].message.content == case.reply
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == case.model
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    sent = upstream_messages(case)
    if case.upstream == "anthropic":
        assert sent == [{"role": "user", "content": "Say hi"}]
        assert case.sent.body["max_tokens"] > 0
        assert case.sent.headers["anthropic-version"] == "2023-06-01"
    else:
        assert sent == [{"role": "user", "content": "Say hi"}]


def chat_stream(case: Case) -> None:
    stream = case.relay.client().chat.completions.create(
        model=case.model,
        messages=[{"role": "user", "content": "Say hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == case.reply
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert case.sent.body["stream"] is True


def _weather_tool() -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather of a city", "parameters": WEATHER_SCHEMA},
    }


def _check_tools_sent(case: Case) -> None:
    tools = case.sent.body["tools"]
    if case.upstream == "anthropic":
        assert tools == [
            {"name": "get_weather", "description": "Weather of a city", "input_schema": WEATHER_SCHEMA}
        ]
    else:
        assert tools[0]["function"]["name"] == "get_weather"


def chat_tools(case: Case) -> None:
    case.script(tool_call=True)
    reply = case.relay.client().chat.completions.create(
        model=case.model, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[_weather_tool()]
    )
    calls = reply.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert calls[0].id in ("call_1", "toolu_01")
    assert reply.choices[0].finish_reason == "tool_calls"
    _check_tools_sent(case)


def chat_streamed_tools(case: Case) -> None:
    case.script(tool_call=True)
    stream = case.relay.client().chat.completions.create(
        model=case.model,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[_weather_tool()],
        stream=True,
    )
    ids, names, arguments, finishes = [], [], "", []
    for chunk in stream:
        if not chunk.choices:
            continue
        for call in chunk.choices[0].delta.tool_calls or []:
            if call.id:
                ids.append(call.id)
            if call.function and call.function.name:
                names.append(call.function.name)
            if call.function and call.function.arguments:
                arguments += call.function.arguments
        if chunk.choices[0].finish_reason:
            finishes.append(chunk.choices[0].finish_reason)
    assert names == ["get_weather"] and len(ids) == 1
    assert json.loads(arguments) == {"city": "Paris"}
    assert finishes == ["tool_calls"]
    _check_tools_sent(case)


def chat_tool_history(case: Case) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "Sunny, 21C"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "And tomorrow?"},
    ]
    reply = case.relay.client().chat.completions.create(
        model=case.model, messages=messages, tools=[_weather_tool()]
    )
    assert reply.choices[0].message.content == case.reply
    sent = upstream_messages(case)
    if case.upstream == "anthropic":
        assert sent[1] == {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_9", "name": "get_weather", "input": {"city": "Paris"}}
            ],
        }
        assert sent[2]["role"] == "user"
        assert sent[2]["content"][0]["type"] == "tool_result"
        assert sent[2]["content"][0]["tool_use_id"] == "call_9"
        assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    else:
        assert sent[1]["tool_calls"][0]["id"] == "call_9"
        assert sent[2] == {"role": "tool", "tool_call_id": "call_9", "content": "Sunny, 21C"}


def chat_structured(case: Case) -> None:
    case.script(reply=STRUCTURED_REPLY)
    reply = case.relay.client().chat.completions.create(
        model=case.model,
        messages=[{"role": "user", "content": "The answer?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA}},
    )
    assert json.loads(reply.choices[0].message.content or "") == {"answer": 42}
    if case.upstream == "anthropic":
        assert case.sent.body["output_config"]["format"] == {"type": "json_schema", "schema": ANSWER_SCHEMA}
    else:
        assert case.sent.body["response_format"]["json_schema"]["schema"] == ANSWER_SCHEMA


def chat_image(case: Case) -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
    ]
    reply = case.relay.client().chat.completions.create(
        model=case.model, messages=[{"role": "user", "content": content}]
    )
    assert reply.choices[0].message.content == case.reply
    sent = upstream_messages(case)[0]["content"]
    if case.upstream == "anthropic":
        assert sent[1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
        }
    else:
        assert sent[1]["image_url"]["url"] == f"data:image/png;base64,{PIXEL}"


def chat_thinking(case: Case) -> None:
    case.script(reasoning=REASONING)
    client = case.relay.client()
    reply = client.chat.completions.create(
        model=case.model,
        messages=[{"role": "user", "content": "Think"}],
        extra_query={"thinking": "true", "reasoning_format": "reasoning_content"},
    )
    message = reply.choices[0].message.model_dump()
    if case.upstream == "anthropic":
        assert case.sent.body["thinking"]["type"] == "enabled"
        assert case.sent.body["thinking"]["budget_tokens"] >= 1024
        assert message["reasoning_content"] == THINKING
        assert "reasoning" not in message and "thinking" not in message
    else:
        assert message["reasoning_content"] == REASONING
    assert message["content"] == case.reply


# ---- Claude Messages inbound -----------------------------------------------------------------


def claude_plain(case: Case) -> None:
    reply = case.claude().messages.create(
        model=case.model, max_tokens=300, messages=[{"role": "user", "content": "Say hi"}]
    )
    assert reply.type == "message" and reply.role == "assistant"
    assert reply.content[0].type == "text" and reply.content[0].text == case.reply
    assert reply.stop_reason == "end_turn"
    assert reply.model == case.model
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    sent = upstream_messages(case)
    assert sent == [{"role": "user", "content": "Say hi"}]
    if case.upstream == "openai":
        assert case.sent.body.get("max_completion_tokens") == 300 or case.sent.body.get("max_tokens") == 300


def claude_stream(case: Case) -> None:
    kinds: list[str] = []
    with case.claude().messages.stream(
        model=case.model, max_tokens=300, messages=[{"role": "user", "content": "Say hi"}]
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    raw = [k for k in kinds if k not in ("text", "input_json", "thinking", "signature", "citation")]
    assert raw[0] == "message_start" and raw[-1] == "message_stop"
    assert "content_block_start" in raw and "message_delta" in raw
    assert final.content[0].type == "text" and final.content[0].text == case.reply
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    assert case.sent.body["stream"] is True


def _claude_tool() -> dict[str, Any]:
    return {"name": "get_weather", "description": "Weather of a city", "input_schema": WEATHER_SCHEMA}


def _check_claude_tools_sent(case: Case) -> None:
    tools = case.sent.body["tools"]
    if case.upstream == "openai":
        assert tools == [_weather_tool()]
    else:
        assert tools == [_claude_tool()]


def claude_tools(case: Case) -> None:
    case.script(tool_call=True)
    reply = case.claude().messages.create(
        model=case.model,
        max_tokens=300,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[_claude_tool()],
    )
    uses = [block for block in reply.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}
    assert uses[0].id in ("call_1", "toolu_01")
    assert reply.stop_reason == "tool_use"
    _check_claude_tools_sent(case)


def claude_streamed_tools(case: Case) -> None:
    case.script(tool_call=True)
    with case.claude().messages.stream(
        model=case.model,
        max_tokens=300,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[_claude_tool()],
    ) as stream:
        final = stream.get_final_message()
    uses = [block for block in final.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    _check_claude_tools_sent(case)


def claude_tool_history(case: Case) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Paris"}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "Sunny, 21C"}],
        },
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "And tomorrow?"},
    ]
    reply = case.claude().messages.create(
        model=case.model, max_tokens=300, messages=messages, tools=[_claude_tool()]
    )
    assert reply.content[0].text == case.reply  # type: ignore[union-attr]
    sent = upstream_messages(case)
    if case.upstream == "openai":
        assert sent[1]["role"] == "assistant"
        assert sent[1]["tool_calls"][0]["id"] == "toolu_9"
        assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        assert sent[2] == {"role": "tool", "tool_call_id": "toolu_9", "content": "Sunny, 21C"}
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    else:
        assert sent == messages


def claude_structured(case: Case) -> None:
    case.script(reply=STRUCTURED_REPLY)
    output_config = {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}}
    reply = case.claude().messages.create(
        model=case.model,
        max_tokens=300,
        messages=[{"role": "user", "content": "The answer?"}],
        extra_body={"output_config": output_config},
    )
    assert json.loads(reply.content[0].text) == {"answer": 42}  # type: ignore[union-attr]
    if case.upstream == "openai":
        assert case.sent.body["response_format"]["type"] == "json_schema"
        assert case.sent.body["response_format"]["json_schema"]["schema"] == ANSWER_SCHEMA
    else:
        assert case.sent.body["output_config"] == output_config


def claude_image(case: Case) -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
    ]
    reply = case.claude().messages.create(
        model=case.model, max_tokens=300, messages=[{"role": "user", "content": content}]
    )
    assert reply.content[0].text == case.reply  # type: ignore[union-attr]
    sent = upstream_messages(case)[0]["content"]
    if case.upstream == "openai":
        assert sent[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}
    else:
        assert sent == content


def claude_thinking(case: Case) -> None:
    case.script(reasoning=REASONING)
    client = case.claude()
    thinking = {"type": "enabled", "budget_tokens": 2048}
    first = client.messages.create(
        model=case.model,
        max_tokens=4096,
        thinking=thinking,
        messages=[{"role": "user", "content": "Think"}],  # type: ignore[arg-type]
    )
    assert first.content[0].type == "thinking"
    assert first.content[0].thinking == (THINKING if case.upstream == "anthropic" else REASONING)
    assert first.content[1].type == "text" and first.content[1].text == case.reply
    if case.upstream == "openai":
        assert "reasoning_effort" not in case.sent.body  # gpt-4o-mini does not reason (SPEC §6.2)
        return
    assert first.content[0].signature == SIGNATURE
    history = [
        {"role": "user", "content": "Think"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": "Go on"},
    ]
    client.messages.create(model=case.model, max_tokens=4096, thinking=thinking, messages=history)  # type: ignore[arg-type]
    echoed = case.sent.body["messages"][1]["content"][0]
    assert echoed == {"type": "thinking", "thinking": THINKING, "signature": SIGNATURE}


CASES: dict[str, Callable[[Case], None]] = {
    "chat-plain": chat_plain,
    "chat-stream": chat_stream,
    "chat-tools": chat_tools,
    "chat-streamed-tools": chat_streamed_tools,
    "chat-tool-history": chat_tool_history,
    "chat-structured": chat_structured,
    "chat-image": chat_image,
    "chat-thinking": chat_thinking,
    "claude-plain": claude_plain,
    "claude-stream": claude_stream,
    "claude-tools": claude_tools,
    "claude-streamed-tools": claude_streamed_tools,
    "claude-tool-history": claude_tool_history,
    "claude-structured": claude_structured,
    "claude-image": claude_image,
    "claude-thinking": claude_thinking,
}


@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize("name", list(CASES))
def test_matrix(relay: RelaySetup, fakes: Fakes, upstream: str, name: str) -> None:
    case = connect(relay, fakes, upstream)
    CASES[name](case)
    relay.wait_flushed(
        1 + name.endswith("thinking") * (upstream == "anthropic" and name.startswith("claude"))
    )
    assert relay.scalar("SELECT model_name FROM logs WHERE type = 2 ORDER BY id LIMIT 1") == case.model
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2 ORDER BY id LIMIT 1") > 0


def test_claude_thinking_budget_becomes_reasoning_effort(relay: RelaySetup, fakes: Fakes) -> None:
    relay.add_channel(fakes.openai, models="o4-mini", name="reasoner")
    client = anthropic.Anthropic(base_url=relay.server.url, api_key=relay.key, max_retries=0)
    client.messages.create(
        model="o4-mini",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "Think"}],
    )
    assert fakes.openai.received[-1].body["reasoning_effort"] == "low"


def test_thinking_switch_is_ignored_for_claude_3_5(relay: RelaySetup, fakes: Fakes) -> None:
    relay.add_channel(fakes.anthropic, type=14, models="claude-3-5-sonnet", name="old")  # type: ignore[arg-type]
    relay.client().chat.completions.create(
        model="claude-3-5-sonnet", messages=[{"role": "user", "content": "x"}], extra_query={"thinking": "on"}
    )
    assert "thinking" not in fakes.anthropic.received[-1].body  # claude-3-5 cannot think (SPEC §6.3)


def test_chat_echoed_reasoning_is_dropped_for_anthropic_but_the_turn_kept(
    relay: RelaySetup, fakes: Fakes
) -> None:
    """Chat has no place for a thinking signature, and Anthropic refuses unsigned thinking."""
    case = connect(relay, fakes, "anthropic")
    messages: list[Any] = [
        {"role": "user", "content": "Think"},
        {"role": "assistant", "content": "Done.", "reasoning_content": THINKING},
        {"role": "user", "content": "Again"},
    ]
    relay.client().chat.completions.create(model=case.model, messages=messages, extra_query={"thinking": "1"})
    sent = fakes.anthropic.received[-1].body
    assert sent["messages"][1] == {"role": "assistant", "content": "Done."}
    assert sent["thinking"]["type"] == "enabled"


@pytest.mark.parametrize("fmt", ["", "reasoning", "thinking", "reasoning_content"])
def test_reasoning_format_names_the_stream_field(relay: RelaySetup, fakes: Fakes, fmt: str) -> None:
    case = connect(relay, fakes, "anthropic")
    query = {"thinking": "1", **({"reasoning_format": fmt} if fmt else {})}
    stream = relay.client().chat.completions.create(
        model=case.model, messages=[{"role": "user", "content": "x"}], stream=True, extra_query=query
    )
    deltas = [c.choices[0].delta.model_dump() for c in stream if c.choices]
    field = fmt or "reasoning"
    assert "".join(d.get(field) or "" for d in deltas) == THINKING
    others = {"reasoning", "thinking", "reasoning_content"} - {field}
    assert not any(d.get(name) for d in deltas for name in others)


# ---- billing, fast lane, errors, routes ------------------------------------------------------


def _cache_usage(fakes: Fakes) -> None:
    s = fakes.anthropic.script
    s.input_tokens, s.output_tokens, s.cache_read, s.cache_write_5m, s.cache_write_1h = 20, 9, 100, 40, 8


# claude-sonnet-4: input 1.5, output 7.5, cache read 0.15, 5m write 1.875, 1h write 3 (quota per token):
# 20·1.5 + 100·0.15 + 9·7.5 + 40·1.875 + 8·3 = 211.5 → 212.
CACHED_QUOTA = 212


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_chat_on_anthropic_bills_cache_reads_and_writes(
    relay: RelaySetup, fakes: Fakes, stream: bool
) -> None:
    case = connect(relay, fakes, "anthropic")
    _cache_usage(fakes)
    client = relay.client()
    if stream:
        chunks = list(
            client.chat.completions.create(
                model=case.model,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        usage = chunks[-1].usage
    else:
        usage = client.chat.completions.create(
            model=case.model, messages=[{"role": "user", "content": "hi"}]
        ).usage
    assert usage is not None
    assert usage.prompt_tokens == 168 and usage.completion_tokens == 9
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 100
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == CACHED_QUOTA
    assert relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == 168
    assert relay.scalar("SELECT cached_prompt_tokens FROM logs WHERE type = 2") == 100
    content = relay.scalar("SELECT content FROM logs WHERE type = 2")
    assert "cache_write_5m 40" in content and "cache_write_1h 8" in content
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA - CACHED_QUOTA


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_claude_fast_lane_bills_cache_and_keeps_usage(relay: RelaySetup, fakes: Fakes, stream: bool) -> None:
    case = connect(relay, fakes, "anthropic")
    _cache_usage(fakes)
    client = case.claude()
    if stream:
        with client.messages.stream(
            model=case.model, max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as events:
            usage = events.get_final_message().usage
    else:
        usage = client.messages.create(
            model=case.model, max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ).usage
    assert usage.input_tokens == 20 and usage.cache_read_input_tokens == 100
    assert usage.cache_creation_input_tokens == 48
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == CACHED_QUOTA
    assert relay.scalar("SELECT is_stream FROM logs WHERE type = 2") in (stream, int(stream))


def test_claude_fast_lane_forwards_unknown_fields_untouched(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "anthropic")
    body = {
        "model": case.model,
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "x_future": {"a": [1, 2]}}]}
        ],
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "x_unknown_field": "kept",
    }
    resp = httpx.post(
        f"{relay.server.url}/v1/messages",
        json=body,
        headers={
            "x-api-key": relay.key,
            "anthropic-beta": "Foo-1, bar-2,foo-1",
            "anthropic-version": "2023-01-01",
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["content"][0]["text"] == REPLIES["anthropic"]
    assert fakes.anthropic.received[-1].body == body
    headers = fakes.anthropic.received[-1].headers
    assert headers["anthropic-beta"] == "foo-1,bar-2"
    assert headers["anthropic-version"] == "2023-01-01"
    assert "Authorization" not in headers


def test_chat_fast_lane_forwards_unknown_fields_untouched(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "openai")
    relay.client().chat.completions.create(
        model=case.model,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"x_unknown_field": {"k": 1}},
    )
    assert fakes.openai.received[-1].body["x_unknown_field"] == {"k": 1}


def test_mapped_model_is_renamed_back_in_the_claude_stream(relay: RelaySetup, fakes: Fakes) -> None:
    relay.add_channel(
        fakes.anthropic,  # type: ignore[arg-type]
        type=14,
        models="my-claude",
        name="mapped",
        model_mapping=json.dumps({"my-claude": "claude-sonnet-4"}),
    )
    client = anthropic.Anthropic(base_url=relay.server.url, api_key=relay.key, max_retries=0)
    with client.messages.stream(
        model="my-claude", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as s:
        final = s.get_final_message()
    assert final.model == "my-claude"
    assert fakes.anthropic.received[-1].body["model"] == "claude-sonnet-4"


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_mapped_model_is_renamed_back_in_converted_streams(
    relay: RelaySetup, fakes: Fakes, upstream: str
) -> None:
    fake = fakes.openai if upstream == "openai" else fakes.anthropic
    mapping = json.dumps({"my-model": MODELS[upstream]})
    relay.add_channel(fake, type=TYPES[upstream], models="my-model", name="mapped", model_mapping=mapping)  # type: ignore[arg-type]
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    if upstream == "openai":
        client = anthropic.Anthropic(base_url=relay.server.url, api_key=relay.key, max_retries=0)
        with client.messages.stream(model="my-model", max_tokens=100, messages=messages) as s:
            assert s.get_final_message().model == "my-model"
    else:
        chunks = list(
            relay.client().chat.completions.create(model="my-model", messages=messages, stream=True)
        )
        assert {c.model for c in chunks} == {"my-model"}
    assert fake.received[-1].body["model"] == MODELS[upstream]


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_upstream_error_reaches_claude_caller_in_anthropic_shape(
    relay: RelaySetup, fakes: Fakes, upstream: str
) -> None:
    case = connect(relay, fakes, upstream)
    error = (
        {"type": "error", "error": {"type": "invalid_request_error", "message": "bad thing"}}
        if upstream == "anthropic"
        else {"error": {"message": "bad thing", "type": "invalid_request_error", "code": None}}
    )
    case.script(failures=[(400, error)])
    with pytest.raises(anthropic.BadRequestError) as caught:
        case.claude().messages.create(
            model=case.model, max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("bad thing")
    relay.wait_flushed(0)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


def test_upstream_error_reaches_chat_caller_in_openai_shape(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "anthropic")
    case.script(
        failures=[(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "nope"}})]
    )
    with pytest.raises(Exception) as caught:
        relay.client().chat.completions.create(model=case.model, messages=[{"role": "user", "content": "x"}])
    assert getattr(caught.value, "status_code", None) == 400
    body = caught.value.body  # type: ignore[attr-defined]
    assert body["message"].startswith("nope") and body["type"] == "invalid_request_error"


def test_gateway_errors_on_messages_use_anthropic_shape(relay: RelaySetup, fakes: Fakes) -> None:
    resp = httpx.post(f"{relay.server.url}/v1/messages", json={"model": "x", "max_tokens": 1, "messages": []})
    assert resp.status_code == 401
    assert resp.json()["type"] == "error" and resp.json()["error"]["type"] == "authentication_error"
    resp = httpx.post(
        f"{relay.server.url}/v1/messages",
        json={"model": "nobody-serves-this", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {relay.key}"},
    )
    assert resp.status_code == 503
    assert resp.json()["type"] == "error" and "No available channels" in resp.json()["error"]["message"]


def test_cut_claude_stream_ends_with_an_error_event(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "anthropic")
    fakes.anthropic.script.cut = True
    with httpx.stream(
        "POST",
        f"{relay.server.url}/v1/messages",
        json={
            "model": case.model,
            "max_tokens": 10,
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        },
        headers={"x-api-key": relay.key},
    ) as resp:
        text = resp.read().decode()
    assert text.startswith("event: message_start")
    assert "event: error" in text and "message_stop" not in text
    error = json.loads(text.split("event: error\ndata: ", 1)[1].split("\n", 1)[0])
    assert error["error"]["type"] == "api_error"  # one of Anthropic's own error types
    relay.wait_flushed(1)


def test_cut_stream_reaches_chat_caller_as_error_chunk(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "anthropic")
    fakes.anthropic.script.error_event = True
    with httpx.stream(
        "POST",
        f"{relay.server.url}/v1/chat/completions",
        json={"model": case.model, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {relay.key}"},
    ) as resp:
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
    assert json.loads(lines[0][6:])["object"] == "chat.completion.chunk"
    error = json.loads(lines[-1][6:])["error"]
    assert error["message"] == "Overloaded" and error["type"] == "overloaded_error"
    relay.wait_flushed(1)


@pytest.mark.parametrize(
    "path", ["/v1/v1/messages", "/openai/v1/messages", "/openai/v1/v1/messages", "/api/v1/v1/messages"]
)
def test_claude_code_path_prefixes_reach_messages(relay: RelaySetup, fakes: Fakes, path: str) -> None:
    case = connect(relay, fakes, "anthropic")
    resp = httpx.post(
        relay.server.url + path,
        json={"model": case.model, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
        headers={"x-api-key": relay.key},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["type"] == "message"
    assert fakes.anthropic.received[-1].path == "/v1/messages"


def test_claude_body_on_chat_route_is_served_as_claude(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "openai")
    resp = httpx.post(
        f"{relay.server.url}/v1/chat/completions",
        json={
            "model": case.model,
            "max_tokens": 10,
            "system": "Be brief",
            "messages": [{"role": "user", "content": "x"}],
        },
        headers={"Authorization": f"Bearer {relay.key}"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["type"] == "message"
    assert fakes.openai.received[-1].body["messages"][0] == {"role": "system", "content": "Be brief"}


def test_chat_body_on_messages_route_is_served_as_chat(relay: RelaySetup, fakes: Fakes) -> None:
    case = connect(relay, fakes, "anthropic")
    resp = httpx.post(
        f"{relay.server.url}/v1/messages",
        json={"model": case.model, "messages": [{"role": "user", "content": "x"}]},
        headers={"x-api-key": relay.key},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["object"] == "chat.completion"
    assert fakes.anthropic.received[-1].body["messages"] == [{"role": "user", "content": "x"}]
