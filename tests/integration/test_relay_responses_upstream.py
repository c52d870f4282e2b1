"""Chat and Claude callers on a channel that speaks only OpenAI Responses (SPEC §6.6).

The channel is OpenAI-compatible (type 50) with `config.api_format = "response"` in front of
FakeResponses in its strict mode (it answers and refuses as OpenAI does). The matrix is
{Chat (openai SDK), Claude Messages (anthropic SDK)} × the cases below; each case checks what
the caller got in its own protocol and the exact body FakeResponses received. Then usage and
billing, errors, cut streams, model mapping, and an OpenAI channel with `api_format = "both"`
that sends only Responses-only models to `/v1/responses`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
import sqlalchemy as sa
from aiohttp import web

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_responses import ENCRYPTED, SUMMARY, FakeResponses
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer
from tests.support.threaded_server import Received


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Conversion does not depend on the database (billing on every backend is in
    test_relay_billing.py): one backend keeps this matrix quick."""
    return str(request.param)


USER_QUOTA = 10_000_000
MODEL = "gpt-4.1"
REASONER = "o4-mini"
REPLY = "Hello from Responses."
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
PIXEL_URL = f"data:image/png;base64,{PIXEL}"
# What a Responses upstream gets for the weather tool, whichever format the caller wrote it in.
SENT_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": WEATHER_SCHEMA,
    "strict": False,
}


def user_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def assistant_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def call_item(call_id: str, city: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": call_id,
        "name": "get_weather",
        "arguments": json.dumps({"city": city}, separators=(",", ":")),
    }


def output_item(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


@dataclass
class Case:
    relay: RelaySetup
    fake: FakeResponses

    @property
    def sent(self) -> Received:
        received = self.fake.received[-1]
        assert received.method == "POST" and received.path == "/v1/responses"
        assert received.headers["Authorization"] == "Bearer upstream-key"
        return received

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.sent.body
        return body

    def chat(self) -> openai.OpenAI:
        return self.relay.client()

    def claude(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.relay.server.url, api_key=self.relay.key, max_retries=0)

    def chat_sse(self, body: dict[str, Any], query: str = "") -> list[Any]:
        """The `data:` payloads of a raw Chat stream, `[DONE]` kept as the string."""
        with httpx.stream(
            "POST",
            f"{self.relay.server.url}/v1/chat/completions{query}",
            json={"stream": True, **body},
            headers={"Authorization": f"Bearer {self.relay.key}"},
            timeout=30,
        ) as resp:
            assert resp.status_code == 200, resp.read()
            lines = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
        return [line if line == "[DONE]" else json.loads(line) for line in lines]

    def claude_sse(self, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The (event, data) frames of a raw Claude stream."""
        with httpx.stream(
            "POST",
            f"{self.relay.server.url}/v1/messages",
            json={"stream": True, "max_tokens": 300, **body},
            headers={"x-api-key": self.relay.key, "anthropic-version": "2023-06-01"},
            timeout=30,
        ) as resp:
            assert resp.status_code == 200, resp.read()
            text = resp.read().decode()
        frames = []
        for block in text.strip().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            frames.append((lines["event"], json.loads(lines["data"])))
        return frames


@pytest.fixture
def fake() -> Iterator[FakeResponses]:
    started: FakeResponses = FakeResponses().start()
    started.script.strict = True
    yield started
    started.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, USER_QUOTA)


def connect(relay: RelaySetup, fake: FakeResponses, **fields: Any) -> Case:
    fields.setdefault("type", 50)
    fields.setdefault("config", json.dumps({"api_format": "response"}))
    fields.setdefault("models", f"{MODEL},{REASONER}")
    relay.add_channel(fake, name="fake-responses", **fields)  # type: ignore[arg-type]
    return Case(relay, fake)


# ---- Chat caller -----------------------------------------------------------------------------


def chat_tool() -> Any:
    return {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather of a city", "parameters": WEATHER_SCHEMA},
    }


def chat_plain(case: Case) -> None:
    reply = case.chat().chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say hi"}],
        max_tokens=50,
    )
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl")
    assert reply.choices[0].message.content == REPLY
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == MODEL
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (
        30,
        12,
        42,
    )
    assert case.body == {
        "model": MODEL,
        "instructions": "Be brief",
        "input": [user_item("Say hi")],
        "max_output_tokens": 50,
        "store": False,
    }


def chat_stream(case: Case) -> None:
    messages = [{"role": "user", "content": "Say hi"}]
    chunks = case.chat_sse({"model": MODEL, "messages": messages, "stream_options": {"include_usage": True}})
    assert chunks[-1] == "[DONE]"
    usage_chunk, finish_chunk = chunks[-2], chunks[-3]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] == 30 and usage_chunk["usage"]["completion_tokens"] == 12
    assert finish_chunk["choices"][0]["finish_reason"] == "stop"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    objects = chunks[:-1]
    assert {c["object"] for c in objects} == {"chat.completion.chunk"}
    assert {c["model"] for c in objects} == {MODEL} and len({c["id"] for c in objects}) == 1
    finishes = [c["choices"][0]["finish_reason"] for c in objects if c["choices"]]
    assert [f for f in finishes if f] == ["stop"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in objects if c["choices"])
    assert text == REPLY
    assert case.body == {"model": MODEL, "input": [user_item("Say hi")], "stream": True, "store": False}
    # The SDK reads the same stream.
    sdk_messages: Any = messages
    stream = case.chat().chat.completions.create(model=MODEL, messages=sdk_messages, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == REPLY


def chat_tools(case: Case) -> None:
    case.fake.script.tool_call = True
    reply = case.chat().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[chat_tool()],
        tool_choice="auto",
    )
    calls = reply.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].id == "call_fake1" and calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert reply.choices[0].finish_reason == "tool_calls"
    assert case.body["tools"] == [SENT_TOOL] and case.body["tool_choice"] == "auto"


def chat_streamed_tools(case: Case) -> None:
    case.fake.script.tool_call = True
    stream = case.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather?"}], tools=[chat_tool()], stream=True
    )
    ids, names, arguments, finishes, indexes = [], [], "", [], set()
    for chunk in stream:
        if not chunk.choices:
            continue
        for call in chunk.choices[0].delta.tool_calls or []:
            indexes.add(call.index)
            if call.id:
                ids.append(call.id)
            if call.function and call.function.name:
                names.append(call.function.name)
            if call.function and call.function.arguments:
                arguments += call.function.arguments
        if chunk.choices[0].finish_reason:
            finishes.append(chunk.choices[0].finish_reason)
    assert ids == ["call_fake1"] and names == ["get_weather"] and indexes == {0}
    assert json.loads(arguments) == {"city": "Paris"}
    assert finishes == ["tool_calls"]
    assert case.body["tools"] == [SENT_TOOL] and case.body["stream"] is True


def chat_tool_history(case: Case) -> None:
    def calls(*pairs: tuple[str, str]) -> dict[str, Any]:
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": json.dumps({"city": city}, separators=(",", ":")),
                    },
                }
                for call_id, city in pairs
            ],
        }

    messages: list[Any] = [
        {"role": "system", "content": "You report weather."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        calls(("call_1", "Paris"), ("call_2", "Rome")),
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "Cloudy, 18C"},
        {"role": "assistant", "content": "Sunny in Paris, cloudy in Rome."},
        {"role": "user", "content": "And Berlin?"},
        calls(("call_3", "Berlin")),
        {"role": "tool", "tool_call_id": "call_3", "content": "Rain, 12C"},
    ]
    reply = case.chat().chat.completions.create(model=MODEL, messages=messages, tools=[chat_tool()])
    assert reply.choices[0].message.content == REPLY
    assert case.body["instructions"] == "You report weather."
    assert case.body["input"] == [
        user_item("Weather in Paris and Rome?"),
        call_item("call_1", "Paris"),
        call_item("call_2", "Rome"),
        output_item("call_1", "Sunny, 21C"),
        output_item("call_2", "Cloudy, 18C"),
        assistant_item("Sunny in Paris, cloudy in Rome."),
        user_item("And Berlin?"),
        call_item("call_3", "Berlin"),
        output_item("call_3", "Rain, 12C"),
    ]


def chat_structured(case: Case) -> None:
    response_format: Any = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
    }
    reply = case.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "The answer?"}], response_format=response_format
    )
    assert json.loads(reply.choices[0].message.content or "") == {"answer": 42}
    assert case.body["text"] == {
        "format": {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}
    }


def chat_image(case: Case) -> None:
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PIXEL_URL, "detail": "low"}},
    ]
    reply = case.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    assert reply.choices[0].message.content == REPLY
    assert case.body["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": PIXEL_URL, "detail": "low"},
            ],
        }
    ]


def chat_reasoning(case: Case) -> None:
    case.fake.script.reasoning_tokens = 8
    client = case.chat()
    reply = client.chat.completions.create(
        model=REASONER, messages=[{"role": "user", "content": "Think"}], reasoning_effort="high"
    )
    message = reply.choices[0].message.model_dump()
    assert message["reasoning"] == SUMMARY and message["content"] == REPLY  # default ?reasoning_format
    assert "reasoning_content" not in message and "thinking" not in message
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 8
    assert case.body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert "include" not in case.body  # a Chat caller has nowhere to keep encrypted reasoning
    assert case.body["store"] is False
    # `?thinking=true` asks for reasoning, `?reasoning_format=` names the field, streamed too.
    chunks = case.chat_sse(
        {"model": REASONER, "messages": [{"role": "user", "content": "Think"}]},
        "?thinking=true&reasoning_format=reasoning_content",
    )
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1] if c["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == SUMMARY
    assert "".join(d.get("content") or "" for d in deltas) == REPLY
    assert not any("reasoning" in d or "thinking" in d for d in deltas)
    assert case.body["reasoning"] == {"effort": "medium", "summary": "auto"}


# ---- Claude caller ---------------------------------------------------------------------------


def claude_tool() -> Any:
    return {"name": "get_weather", "description": "Weather of a city", "input_schema": WEATHER_SCHEMA}


def claude_plain(case: Case) -> None:
    reply = case.claude().messages.create(
        model=MODEL, max_tokens=300, system="Be brief", messages=[{"role": "user", "content": "Say hi"}]
    )
    assert reply.type == "message" and reply.role == "assistant"
    assert [block.type for block in reply.content] == ["text"]
    assert reply.content[0].text == REPLY  # type: ignore[union-attr]
    assert reply.stop_reason == "end_turn" and reply.model == MODEL
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (30, 12)
    assert case.body == {
        "model": MODEL,
        "instructions": "Be brief",
        "input": [user_item("Say hi")],
        "max_output_tokens": 300,
        "store": False,
    }


def claude_stream(case: Case) -> None:
    frames = case.claude_sse({"model": MODEL, "messages": [{"role": "user", "content": "Say hi"}]})
    kinds = [name for name, _ in frames]
    assert kinds == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in frames)
    assert frames[0][1]["message"]["model"] == MODEL
    assert frames[1][1]["content_block"] == {"type": "text", "text": ""}
    assert "".join(data["delta"]["text"] for name, data in frames if name == "content_block_delta") == REPLY
    delta = frames[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["input_tokens"] == 30 and delta["usage"]["output_tokens"] == 12
    assert case.body == {
        "model": MODEL,
        "input": [user_item("Say hi")],
        "max_output_tokens": 300,
        "stream": True,
        "store": False,
    }
    with case.claude().messages.stream(
        model=MODEL, max_tokens=300, messages=[{"role": "user", "content": "Say hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == REPLY and final.usage.output_tokens == 12  # type: ignore[union-attr]


def claude_tools(case: Case) -> None:
    case.fake.script.tool_call = True
    reply = case.claude().messages.create(
        model=MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[claude_tool()],
        tool_choice={"type": "any"},
    )
    uses = [block for block in reply.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].id == "call_fake1" and uses[0].name == "get_weather"
    assert uses[0].input == {"city": "Paris"}
    assert reply.stop_reason == "tool_use"
    assert case.body["tools"] == [SENT_TOOL] and case.body["tool_choice"] == "required"


def claude_streamed_tools(case: Case) -> None:
    case.fake.script.tool_call = True
    frames = case.claude_sse(
        {"model": MODEL, "messages": [{"role": "user", "content": "Weather?"}], "tools": [claude_tool()]}
    )
    starts = [data["content_block"] for name, data in frames if name == "content_block_start"]
    assert starts == [{"type": "tool_use", "id": "call_fake1", "name": "get_weather", "input": {}}]
    partial = "".join(data["delta"]["partial_json"] for name, data in frames if name == "content_block_delta")
    assert json.loads(partial) == {"city": "Paris"}
    assert frames[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert [name for name, _ in frames][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    with case.claude().messages.stream(
        model=MODEL, max_tokens=300, messages=[{"role": "user", "content": "Weather?"}], tools=[claude_tool()]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == {"city": "Paris"}
    assert case.body["tools"] == [SENT_TOOL]


def claude_tool_history(case: Case) -> None:
    def use(call_id: str, city: str) -> dict[str, Any]:
        return {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": city}}

    def result(call_id: str, text: str) -> dict[str, Any]:
        return {"type": "tool_result", "tool_use_id": call_id, "content": text}

    messages: list[Any] = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                use("toolu_1", "Paris"),
                use("toolu_2", "Rome"),
            ],
        },
        {"role": "user", "content": [result("toolu_1", "Sunny, 21C"), result("toolu_2", "Cloudy, 18C")]},
        {"role": "assistant", "content": "Sunny in Paris, cloudy in Rome."},
        {"role": "user", "content": "And Berlin?"},
        {"role": "assistant", "content": [use("toolu_3", "Berlin")]},
        {"role": "user", "content": [result("toolu_3", "Rain, 12C"), {"type": "text", "text": "Thanks"}]},
    ]
    reply = case.claude().messages.create(
        model=MODEL, max_tokens=300, system="You report weather.", messages=messages, tools=[claude_tool()]
    )
    assert reply.content[0].text == REPLY  # type: ignore[union-attr]
    assert case.body["instructions"] == "You report weather."
    assert case.body["input"] == [
        user_item("Weather in Paris and Rome?"),
        assistant_item("Looking."),
        call_item("toolu_1", "Paris"),
        call_item("toolu_2", "Rome"),
        output_item("toolu_1", "Sunny, 21C"),
        output_item("toolu_2", "Cloudy, 18C"),
        assistant_item("Sunny in Paris, cloudy in Rome."),
        user_item("And Berlin?"),
        call_item("toolu_3", "Berlin"),
        output_item("toolu_3", "Rain, 12C"),
        user_item("Thanks"),
    ]


def claude_structured(case: Case) -> None:
    reply = case.claude().messages.create(
        model=MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "The answer?"}],
        output_config={"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
    )
    assert json.loads(reply.content[0].text) == {"answer": 42}  # type: ignore[union-attr]
    assert case.body["text"] == {
        "format": {"type": "json_schema", "name": "response", "schema": ANSWER_SCHEMA}
    }


def claude_image(case: Case) -> None:
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
    ]
    reply = case.claude().messages.create(
        model=MODEL, max_tokens=300, messages=[{"role": "user", "content": content}]
    )
    assert reply.content[0].text == REPLY  # type: ignore[union-attr]
    assert case.body["input"][0]["content"] == [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": PIXEL_URL, "detail": "auto"},
    ]


def claude_reasoning(case: Case) -> None:
    case.fake.script.reasoning_tokens = 8
    client = case.claude()
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}
    first = client.messages.create(
        model=REASONER, max_tokens=4096, thinking=thinking, messages=[{"role": "user", "content": "Think"}]
    )
    assert [block.type for block in first.content] == ["thinking", "text"]
    assert first.content[0].thinking == SUMMARY  # type: ignore[union-attr]
    assert first.content[0].signature == ENCRYPTED  # type: ignore[union-attr]
    assert first.content[1].text == REPLY  # type: ignore[union-attr]
    assert case.body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert case.body["include"] == ["reasoning.encrypted_content"] and case.body["store"] is False
    assert case.body["max_output_tokens"] == 4096
    history: Any = [
        {"role": "user", "content": "Think"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": "Go on"},
    ]
    client.messages.create(model=REASONER, max_tokens=4096, thinking=thinking, messages=history)
    assert case.body["input"] == [
        user_item("Think"),
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": SUMMARY}],
            "encrypted_content": ENCRYPTED,
        },
        assistant_item(REPLY),
        user_item("Go on"),
    ]
    # Streamed: the summary as thinking deltas, the encrypted content as the signature.
    frames = case.claude_sse(
        {
            "model": REASONER,
            "max_tokens": 4096,
            "thinking": thinking,
            "messages": [{"role": "user", "content": "Think"}],
        }
    )
    starts = [data["content_block"]["type"] for name, data in frames if name == "content_block_start"]
    assert starts == ["thinking", "text"]
    deltas = [data["delta"] for name, data in frames if name == "content_block_delta"]
    assert "".join(d.get("thinking", "") for d in deltas) == SUMMARY
    assert [d["signature"] for d in deltas if d["type"] == "signature_delta"] == [ENCRYPTED]
    assert frames[-2][1]["usage"]["output_tokens"] == 12


CASES: dict[str, Callable[[Case], None]] = {
    "chat-plain": chat_plain,
    "chat-stream": chat_stream,
    "chat-tools": chat_tools,
    "chat-streamed-tools": chat_streamed_tools,
    "chat-tool-history": chat_tool_history,
    "chat-structured": chat_structured,
    "chat-image": chat_image,
    "chat-reasoning": chat_reasoning,
    "claude-plain": claude_plain,
    "claude-stream": claude_stream,
    "claude-tools": claude_tools,
    "claude-streamed-tools": claude_streamed_tools,
    "claude-tool-history": claude_tool_history,
    "claude-structured": claude_structured,
    "claude-image": claude_image,
    "claude-reasoning": claude_reasoning,
}


@pytest.mark.parametrize("name", list(CASES))
def test_matrix(relay: RelaySetup, fake: FakeResponses, name: str) -> None:
    case = connect(relay, fake)
    CASES[name](case)
    calls = len(fake.received)
    relay.wait_flushed(calls)
    models = {row[0] for row in _rows(relay, "SELECT model_name FROM logs WHERE type = 2")}
    assert models <= {MODEL, REASONER}
    assert all(quota > 0 for (quota,) in _rows(relay, "SELECT quota FROM logs WHERE type = 2"))


def _rows(relay: RelaySetup, sql: str) -> list[Any]:
    with relay.db.connect() as conn:
        return list(conn.execute(sa.text(sql)))


# ---- usage and billing -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("caller", ["chat", "claude"])
def test_usage_reaches_the_caller_and_the_bill(
    relay: RelaySetup, fake: FakeResponses, caller: str, stream: bool
) -> None:
    case = connect(relay, fake)
    s = fake.script
    s.input_tokens, s.cached_tokens, s.output_tokens, s.reasoning_tokens = 1000, 400, 100, 30
    messages: Any = [{"role": "user", "content": "hi"}]
    if caller == "chat":
        client = case.chat()
        if stream:
            chunks = list(
                client.chat.completions.create(
                    model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
                )
            )
            usage = chunks[-1].usage
        else:
            usage = client.chat.completions.create(model=MODEL, messages=messages).usage
        assert usage is not None
        assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 100, 1100)
        assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 400
        assert usage.completion_tokens_details is not None
        assert usage.completion_tokens_details.reasoning_tokens == 30
    else:
        claude = case.claude()
        if stream:
            with claude.messages.stream(model=MODEL, max_tokens=100, messages=messages) as events:
                claude_usage = events.get_final_message().usage
        else:
            claude_usage = claude.messages.create(model=MODEL, max_tokens=100, messages=messages).usage
        assert claude_usage.input_tokens == 600 and claude_usage.cache_read_input_tokens == 400
        assert claude_usage.output_tokens == 100 and not claude_usage.cache_creation_input_tokens
    relay.wait_flushed(1)
    assert relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == 1000
    assert relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2") == 100
    assert relay.scalar("SELECT cached_prompt_tokens FROM logs WHERE type = 2") == 400
    assert relay.scalar("SELECT is_stream FROM logs WHERE type = 2") in (stream, int(stream))
    quota = relay.scalar("SELECT quota FROM logs WHERE type = 2")
    # gpt-4.1: ratio 1, cached input 0.25, completion 4 → 600 + 400·0.25 + 100·4.
    assert quota == 1100
    assert USER_QUOTA - relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == quota


# ---- what the IR does not carry ----------------------------------------------------------------


def test_chat_fields_responses_also_has_are_carried(relay: RelaySetup, fake: FakeResponses) -> None:
    case = connect(relay, fake)
    case.chat().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "News?"}],
        max_completion_tokens=5,
        store=True,
        service_tier="flex",
        prompt_cache_key="conversation-7",
        extra_body={
            "verbosity": "low",
            "web_search_options": {
                "search_context_size": "low",
                "user_location": {"type": "approximate", "approximate": {"country": "FR", "city": "Paris"}},
            },
        },
    )
    body = case.body
    assert body["store"] is True  # the caller's own choice
    assert body["max_output_tokens"] == 16  # the least OpenAI accepts
    assert body["service_tier"] == "flex" and body["prompt_cache_key"] == "conversation-7"
    assert body["text"] == {"verbosity": "low"}
    assert body["tools"] == [
        {
            "type": "web_search",
            "search_context_size": "low",
            "user_location": {"type": "approximate", "country": "FR", "city": "Paris"},
        }
    ]


def test_reasoning_is_not_asked_for_when_the_caller_does_not(relay: RelaySetup, fake: FakeResponses) -> None:
    case = connect(relay, fake)
    messages: Any = [{"role": "user", "content": "x"}]
    reply = case.claude().messages.create(model=REASONER, max_tokens=100, messages=messages)
    assert [block.type for block in reply.content] == ["text"]
    assert "reasoning" not in case.body and "include" not in case.body
    # A non-reasoning OpenAI model loses the reasoning settings, and is never asked for encrypted content.
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}
    case.claude().messages.create(model=MODEL, max_tokens=4096, thinking=thinking, messages=messages)
    assert "reasoning" not in case.body and "include" not in case.body


def test_long_user_and_call_ids_are_shortened_the_same_way(relay: RelaySetup, fake: FakeResponses) -> None:
    """Claude Code's `metadata.user_id` runs to ~150 characters; OpenAI takes 64."""
    case = connect(relay, fake)
    user_id = "user_" + "a" * 64 + "_account_" + "b" * 36 + "_session_" + "c" * 36
    long_id = "toolu_" + "x" * 80
    messages: Any = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": long_id, "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": long_id, "content": "Sunny"}]},
    ]
    reply = case.claude().messages.create(
        model=MODEL, max_tokens=100, messages=messages, tools=[claude_tool()], metadata={"user_id": user_id}
    )
    assert reply.content[0].text == REPLY  # type: ignore[union-attr]
    body = case.body
    assert len(body["user"]) == 64 and body["user"] != user_id[:64]
    call, output = body["input"][1], body["input"][2]
    assert len(call["call_id"]) == 64 and call["call_id"] == output["call_id"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_output_cut_by_the_cap_is_length_and_max_tokens(
    relay: RelaySetup, fake: FakeResponses, stream: bool
) -> None:
    case = connect(relay, fake)
    fake.script.incomplete = True
    messages: Any = [{"role": "user", "content": "Say a lot"}]
    if stream:
        chunks = case.chat_sse({"model": MODEL, "messages": messages})
        finishes = [c["choices"][0]["finish_reason"] for c in chunks[:-1] if c["choices"]]
        assert [f for f in finishes if f] == ["length"]
        frames = case.claude_sse({"model": MODEL, "messages": messages})
        assert frames[-2][1]["delta"]["stop_reason"] == "max_tokens"
    else:
        reply = case.chat().chat.completions.create(model=MODEL, messages=messages)
        assert reply.choices[0].finish_reason == "length" and reply.choices[0].message.content == REPLY
        message = case.claude().messages.create(model=MODEL, max_tokens=100, messages=messages)
        assert message.stop_reason == "max_tokens"
    relay.wait_flushed(2)


# ---- errors ----------------------------------------------------------------------------------


UPSTREAM_ERRORS = {
    400: {"error": {"message": "bad thing", "type": "invalid_request_error", "param": None, "code": None}},
    500: {
        "error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}
    },
}


@pytest.mark.parametrize("status", [400, 500])
def test_upstream_error_reaches_chat_caller_in_openai_shape(
    relay: RelaySetup, fake: FakeResponses, status: int
) -> None:
    case = connect(relay, fake)
    fake.script.failures = [(status, UPSTREAM_ERRORS[status])]
    with pytest.raises(openai.APIStatusError) as caught:
        case.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["message"].startswith(UPSTREAM_ERRORS[status]["error"]["message"])
    assert body["type"] == UPSTREAM_ERRORS[status]["error"]["type"]
    assert case.sent.body["input"] == [user_item("x")]
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


@pytest.mark.parametrize("status", [400, 500])
def test_upstream_error_reaches_claude_caller_in_anthropic_shape(
    relay: RelaySetup, fake: FakeResponses, status: int
) -> None:
    case = connect(relay, fake)
    fake.script.failures = [(status, UPSTREAM_ERRORS[status])]
    with pytest.raises(anthropic.APIStatusError) as caught:
        case.claude().messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == ("invalid_request_error" if status == 400 else "api_error")
    assert body["error"]["message"].startswith(UPSTREAM_ERRORS[status]["error"]["message"])
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


@pytest.mark.parametrize("how", ["error_event", "cut"])
def test_broken_stream_ends_chat_caller_with_one_error_chunk(
    relay: RelaySetup, fake: FakeResponses, how: str
) -> None:
    case = connect(relay, fake)
    setattr(fake.script, how, True)
    chunks = case.chat_sse({"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert chunks[0]["object"] == "chat.completion.chunk"
    errors = [c for c in chunks if isinstance(c, dict) and "error" in c]
    assert len(errors) == 1 and chunks[-1] is errors[0]
    if how == "error_event":
        assert errors[0]["error"]["message"] == "The server had an error"
        assert errors[0]["error"]["code"] == "server_error"
    else:
        assert "upstream stream broke" in errors[0]["error"]["message"]
    assert "[DONE]" not in chunks
    relay.wait_flushed(1)


@pytest.mark.parametrize("how", ["error_event", "cut"])
def test_broken_stream_ends_claude_caller_with_an_error_event(
    relay: RelaySetup, fake: FakeResponses, how: str
) -> None:
    case = connect(relay, fake)
    setattr(fake.script, how, True)
    frames = case.claude_sse({"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    kinds = [name for name, _ in frames]
    assert kinds[0] == "message_start" and kinds[-1] == "error" and kinds.count("error") == 1
    assert "message_stop" not in kinds
    error = frames[-1][1]
    assert error["type"] == "error" and error["error"]["message"]
    relay.wait_flushed(1)


# ---- model mapping ---------------------------------------------------------------------------


def test_mapped_model_is_renamed_back_for_both_callers(relay: RelaySetup, fake: FakeResponses) -> None:
    case = connect(relay, fake, models="my-model", model_mapping=json.dumps({"my-model": MODEL}))
    messages: Any = [{"role": "user", "content": "hi"}]
    assert case.chat().chat.completions.create(model="my-model", messages=messages).model == "my-model"
    assert case.body["model"] == MODEL
    chunks = list(case.chat().chat.completions.create(model="my-model", messages=messages, stream=True))
    assert {c.model for c in chunks} == {"my-model"}
    assert (
        case.claude().messages.create(model="my-model", max_tokens=10, messages=messages).model == "my-model"
    )
    with case.claude().messages.stream(model="my-model", max_tokens=10, messages=messages) as stream:
        assert stream.get_final_message().model == "my-model"
    assert case.body["model"] == MODEL
    relay.wait_flushed(4)
    assert relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2 AND model_name = :m", m=MODEL) == 4


# ---- an OpenAI channel that speaks both ------------------------------------------------------


class FakeBoth(FakeResponses):
    """A proxy in front of OpenAI: Responses here, Chat Completions by a FakeOpenAI's handler."""

    def __init__(self) -> None:
        super().__init__()
        self.chat = FakeOpenAI()  # never started: only its handler is used

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/v1/chat/completions":
            return await self.chat._handle(request)
        return await super()._handle(request)


@pytest.fixture
def both() -> Iterator[FakeBoth]:
    started: FakeBoth = FakeBoth().start()
    started.script.strict = True
    yield started
    started.stop()


def test_both_channel_sends_only_responses_only_models_to_responses(
    relay: RelaySetup, both: FakeBoth
) -> None:
    relay.add_channel(
        both,  # type: ignore[arg-type]
        type=1,
        name="both",
        models="o3-pro,gpt-4o-mini",
        config=json.dumps({"api_format": "both"}),
    )
    messages: Any = [{"role": "user", "content": "hi"}]
    reply = relay.client().chat.completions.create(model="o3-pro", messages=messages)
    assert reply.choices[0].message.content == REPLY and reply.model == "o3-pro"
    assert both.received[-1].path == "/v1/responses" and both.received[-1].body["model"] == "o3-pro"
    assert both.received[-1].body["store"] is False
    claude = anthropic.Anthropic(base_url=relay.server.url, api_key=relay.key, max_retries=0)
    assert claude.messages.create(model="o3-pro", max_tokens=10, messages=messages).content[0].text == REPLY  # type: ignore[union-attr]
    assert both.received[-1].path == "/v1/responses"
    reply = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_body={"x_field": 1}
    )
    assert reply.choices[0].message.content == "Hello from the fake upstream."
    assert [r.path for r in both.chat.received] == ["/v1/chat/completions"]
    assert both.chat.received[-1].body["x_field"] == 1  # the Chat fast lane: the body as sent
    assert len(both.received) == 2
    relay.wait_flushed(3)
