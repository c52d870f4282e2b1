"""Chat and Claude callers on a Gemini channel (type 24): official SDKs → gateway → fake Gemini.

Each test checks what the caller got, in its own protocol, and what the fake Gemini received:
the URL (version, model, `:generateContent` or `:streamGenerateContent?alt=sse`), the
`x-goog-api-key` header and the converted body. Billing: Gemini's thought tokens are output.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_gemini import (
    RESPONSE_ID,
    THOUGHT,
    THOUGHT_SIGNATURE,
    FakeGemini,
    ImageHost,
)
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer
from tests.support.threaded_server import Received


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Conversion does not depend on the database: one backend keeps these tests quick."""
    return str(request.param)


USER_QUOTA = 10_000_000
MODEL = "gemini-2.5-flash"
MODELS = "gemini-2.5-flash,gemini-2.5-pro,gemini-2.0-flash,gemma-3-27b-it,gemini-3-pro-preview,my-gemini"
REPLY = "Hello from Gemini."
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
STRICT_WEATHER_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    **WEATHER_SCHEMA,
    "additionalProperties": False,
}
ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
SAFETY = [
    {"category": category, "threshold": "BLOCK_NONE"}
    for category in (
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    )
]


@dataclass
class Gemini:
    relay: RelaySetup
    fake: FakeGemini
    images: ImageHost
    channel_id: int

    @property
    def sent(self) -> Received:
        return self.fake.received[-1]

    def claude(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.relay.server.url, api_key=self.relay.key, max_retries=0)

    def chat(self) -> openai.OpenAI:
        return self.relay.client()

    def check_call(self, model: str = MODEL, stream: bool = False) -> dict[str, Any]:
        """The last upstream call went where and how a Gemini call goes; its body."""
        sent = self.sent
        action = "streamGenerateContent" if stream else "generateContent"
        assert sent.path == f"/v1beta/models/{model}:{action}"
        assert sent.query == ("alt=sse" if stream else "")
        assert sent.headers["x-goog-api-key"] == "upstream-key"
        assert "Authorization" not in sent.headers
        body: dict[str, Any] = sent.body
        assert body["safetySettings"] == SAFETY
        assert "model" not in body and "stream" not in body
        return body


@pytest.fixture
def gemini(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> Iterator[Gemini]:
    fake, images = FakeGemini().start(), ImageHost().start()
    setup = RelaySetup(server=server, root=root, user=make_user("alice", quota=USER_QUOTA), key="", db=db)
    setup.key = setup.make_key()
    mapping = json.dumps({"my-gemini": MODEL})
    channel_id = setup.add_channel(fake, type=24, models=MODELS, name="gemini", model_mapping=mapping)
    yield Gemini(setup, fake, images, channel_id)
    fake.stop()
    images.stop()


def _weather_tool(schema: dict[str, Any] = STRICT_WEATHER_SCHEMA) -> Any:
    return {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather of a city", "parameters": schema},
    }


DECLARED_TOOLS = [
    {
        "functionDeclarations": [
            {"name": "get_weather", "description": "Weather of a city", "parameters": WEATHER_SCHEMA}
        ]
    }
]


def _sse_payloads(resp: httpx.Response) -> list[str]:
    return [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]


def _claude_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in text.split("\n\n"):
        lines = frame.strip().splitlines()
        if len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "):
            events.append((lines[0][7:], json.loads(lines[1][6:])))
    return events


# ---- Chat inbound ----------------------------------------------------------------------------


def test_chat_plain(gemini: Gemini) -> None:
    reply = gemini.chat().chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}],
        temperature=0.2,
        max_tokens=50,
    )
    assert reply.choices[0].message.content == REPLY
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == MODEL and reply.object == "chat.completion"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (12, 7, 19)
    body = gemini.check_call()
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hi"}]}]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 50}
    gemini.relay.wait_flushed(1)
    assert gemini.relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == 12
    assert gemini.relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2") == 7
    assert gemini.relay.scalar("SELECT quota FROM logs WHERE type = 2") > 0


def test_chat_stream_is_openai_chunks_ending_with_done(gemini: Gemini) -> None:
    with httpx.stream(
        "POST",
        f"{gemini.relay.server.url}/v1/chat/completions",
        json={
            "model": MODEL,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Say hi"}],
        },
        headers={"Authorization": f"Bearer {gemini.relay.key}"},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        payloads = _sse_payloads(resp)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == MODEL for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == REPLY
    finishes = [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]
    ]
    assert finishes == ["stop"]
    assert chunks[-1]["usage"]["prompt_tokens"] == 12 and chunks[-1]["usage"]["completion_tokens"] == 7
    body = gemini.check_call(stream=True)
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hi"}]}]


def test_chat_tools(gemini: Gemini) -> None:
    gemini.fake.script.tool_call = True
    reply = gemini.chat().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[_weather_tool()],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    calls = reply.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].type == "function" and calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert calls[0].id.startswith("call_")
    assert reply.choices[0].finish_reason == "tool_calls"
    body = gemini.check_call()
    assert body["tools"] == DECLARED_TOOLS  # $schema and additionalProperties cleaned away
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }


def test_chat_streamed_tools(gemini: Gemini) -> None:
    gemini.fake.script.tool_call = True
    gemini.fake.script.call_id = "fc-7"
    stream = gemini.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather?"}], tools=[_weather_tool()], stream=True
    )
    ids, names, arguments, finishes = [], [], "", []
    chunk: Any
    for chunk in stream:
        if not chunk.choices:
            continue
        for call in chunk.choices[0].delta.tool_calls or []:
            ids += [call.id] if call.id else []
            names += [call.function.name] if call.function and call.function.name else []
            arguments += call.function.arguments or "" if call.function else ""
        if chunk.choices[0].finish_reason:
            finishes.append(chunk.choices[0].finish_reason)
    assert ids == ["fc-7"] and names == ["get_weather"]
    assert json.loads(arguments) == {"city": "Paris"}
    assert finishes == ["tool_calls"]
    assert gemini.check_call(stream=True)["tools"] == DECLARED_TOOLS


CHAT_TOOL_HISTORY: list[Any] = [
    {"role": "user", "content": "Weather in Paris and Lyon?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_10",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_9", "content": "Sunny, 21C"},
    {"role": "tool", "tool_call_id": "call_10", "content": "Rain, 15C"},
    {"role": "assistant", "content": "Paris is sunny, Lyon rainy."},
    {"role": "user", "content": "And Nice?"},
    {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_11",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Nice"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_11", "content": "Windy"},
    {"role": "user", "content": "Thanks. Summarise."},
]


def _call(call_id: str, city: str) -> dict[str, Any]:
    return {"functionCall": {"id": call_id, "name": "get_weather", "args": {"city": city}}}


def _result(call_id: str, output: str) -> dict[str, Any]:
    return {"functionResponse": {"id": call_id, "name": "get_weather", "response": {"output": output}}}


EXPECTED_HISTORY = [
    {"role": "user", "parts": [{"text": "Weather in Paris and Lyon?"}]},
    {"role": "model", "parts": [_call("call_9", "Paris"), _call("call_10", "Lyon")]},
    {"role": "user", "parts": [_result("call_9", "Sunny, 21C"), _result("call_10", "Rain, 15C")]},
    {"role": "model", "parts": [{"text": "Paris is sunny, Lyon rainy."}]},
    {"role": "user", "parts": [{"text": "And Nice?"}]},
    {"role": "model", "parts": [{"text": "Checking."}, _call("call_11", "Nice")]},
    {"role": "user", "parts": [_result("call_11", "Windy"), {"text": "Thanks. Summarise."}]},
]


def test_chat_tool_history_over_several_turns(gemini: Gemini) -> None:
    reply = gemini.chat().chat.completions.create(
        model=MODEL, messages=CHAT_TOOL_HISTORY, tools=[_weather_tool()]
    )
    assert reply.choices[0].message.content == REPLY
    assert gemini.check_call()["contents"] == EXPECTED_HISTORY


def test_gemini_3_history_calls_get_the_placeholder_signature(gemini: Gemini) -> None:
    """Gemini 3 refuses history calls without a thought signature; calls from elsewhere have none."""
    gemini.chat().chat.completions.create(
        model="gemini-3-pro-preview", messages=CHAT_TOOL_HISTORY, tools=[_weather_tool()]
    )
    contents = gemini.check_call("gemini-3-pro-preview")["contents"]
    assert contents[1]["parts"][0]["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in contents[1]["parts"][1]  # parallel calls: the first is signed
    assert contents[5]["parts"][1]["thoughtSignature"] == "skip_thought_signature_validator"


@pytest.mark.parametrize("kind", ["json_schema", "json_object"])
def test_chat_structured_output(gemini: Gemini, kind: str) -> None:
    schema = {**ANSWER_SCHEMA, "additionalProperties": False}
    response_format: Any = (
        {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
        if kind == "json_schema"
        else {"type": "json_object"}
    )
    reply = gemini.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "The answer?"}], response_format=response_format
    )
    assert json.loads(reply.choices[0].message.content or "") == {"answer": 42}
    generation = gemini.check_call()["generationConfig"]
    assert generation["responseMimeType"] == "application/json"
    if kind == "json_schema":
        assert generation["responseSchema"] == ANSWER_SCHEMA
    else:
        assert "responseSchema" not in generation


def test_chat_image_as_data_url(gemini: Gemini) -> None:
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
    ]
    reply = gemini.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": content}]
    )
    assert reply.choices[0].message.content == REPLY
    assert gemini.check_call()["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": PIXEL}},
    ]


def test_chat_remote_image_is_downloaded_and_inlined(gemini: Gemini) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"fake-jpeg-bytes" * 10
    gemini.images.files["/cat"] = ("application/octet-stream", jpeg)  # the bytes say what it is
    gemini.images.files["/dog.png"] = ("image/png", base64.b64decode(PIXEL))
    url = f"{gemini.images.url}/cat"
    content: Any = [
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "image_url", "image_url": {"url": f"{gemini.images.url}/dog.png"}},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    gemini.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    cat = {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(jpeg).decode()}}
    dog = {"inlineData": {"mimeType": "image/png", "data": PIXEL}}
    assert gemini.check_call()["contents"][0]["parts"] == [cat, dog, cat]
    assert sorted(r.path for r in gemini.images.received) == ["/cat", "/dog.png"]  # each URL once


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/missing.png", "HTTP 404"), ("/page", "not an image (content type text/html)")],
)
def test_remote_image_that_cannot_be_used_is_the_callers_400(gemini: Gemini, path: str, reason: str) -> None:
    gemini.images.files["/page"] = ("text/html", b"<html>hi</html>")
    content: Any = [
        {"type": "text", "text": "?"},
        {"type": "image_url", "image_url": {"url": gemini.images.url + path}},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        gemini.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    error: Any = caught.value.body
    assert reason in error["message"] and path in error["message"]
    assert error["type"] == "invalid_request_error"
    assert gemini.fake.received == []
    with pytest.raises(anthropic.BadRequestError) as claude_caught:
        gemini.claude().messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "url", "url": gemini.images.url + path}}
                    ],
                }
            ],
        )
    claude_error: Any = claude_caught.value.body
    assert claude_error["type"] == "error" and claude_error["error"]["type"] == "invalid_request_error"
    assert reason in claude_error["error"]["message"]
    assert gemini.fake.received == []


def test_chat_thinking_switch_and_reasoning_format(gemini: Gemini) -> None:
    reply = gemini.chat().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Think"}],
        extra_query={"thinking": "true", "reasoning_format": "reasoning_content"},
    )
    message = reply.choices[0].message.model_dump()
    assert message["reasoning_content"] == THOUGHT
    assert "reasoning" not in message and "thinking" not in message
    assert message["content"] == REPLY
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 7 + 25  # candidates + thoughts
    assert reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 25
    body = gemini.check_call()
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": -1, "includeThoughts": True}


@pytest.mark.parametrize("fmt", ["", "reasoning", "thinking", "reasoning_content"])
def test_reasoning_format_names_the_stream_field(gemini: Gemini, fmt: str) -> None:
    query = {"thinking": "1", **({"reasoning_format": fmt} if fmt else {})}
    stream = gemini.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True, extra_query=query
    )
    deltas = [c.choices[0].delta.model_dump() for c in stream if c.choices]
    field = fmt or "reasoning"
    assert "".join(d.get(field) or "" for d in deltas) == THOUGHT
    assert "".join(d.get("content") or "" for d in deltas) == REPLY
    others = {"reasoning", "thinking", "reasoning_content"} - {field}
    assert not any(d.get(name) for d in deltas for name in others)
    assert gemini.check_call(stream=True)["generationConfig"]["thinkingConfig"]["includeThoughts"] is True


def test_thinking_off_and_effort_levels(gemini: Gemini) -> None:
    client = gemini.chat()
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], extra_query={"thinking": "off"}
    )
    assert gemini.check_call()["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}
    client.chat.completions.create(
        model="gemini-2.5-pro", messages=[{"role": "user", "content": "x"}], extra_query={"thinking": "off"}
    )
    assert gemini.check_call("gemini-2.5-pro")["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 128
    }
    client.chat.completions.create(
        model="gemini-3-pro-preview", messages=[{"role": "user", "content": "x"}], reasoning_effort="high"
    )
    thinking = gemini.check_call("gemini-3-pro-preview")["generationConfig"]["thinkingConfig"]
    assert thinking == {"thinkingLevel": "high", "includeThoughts": True}
    client.chat.completions.create(
        model="gemini-2.0-flash", messages=[{"role": "user", "content": "x"}], extra_query={"thinking": "on"}
    )
    assert "generationConfig" not in gemini.check_call("gemini-2.0-flash")  # 2.0 cannot think


def test_gemma_gets_the_system_prompt_as_a_first_turn(gemini: Gemini) -> None:
    gemini.chat().chat.completions.create(
        model="gemma-3-27b-it",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    body = gemini.check_call("gemma-3-27b-it")
    assert "systemInstruction" not in body
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Be brief."}]},
        {"role": "model", "parts": [{"text": "Okay"}]},
        {"role": "user", "parts": [{"text": "hi"}]},
    ]


def test_top_p_outside_the_range_is_dropped(gemini: Gemini) -> None:
    gemini.chat().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], top_p=1.5, temperature=0.5
    )
    assert gemini.check_call()["generationConfig"] == {"temperature": 0.5}


# ---- Claude inbound --------------------------------------------------------------------------


def test_claude_plain(gemini: Gemini) -> None:
    reply = gemini.claude().messages.create(
        model=MODEL,
        max_tokens=300,
        system="Be brief.",
        stop_sequences=["END"],
        messages=[{"role": "user", "content": "Say hi"}],
    )
    assert reply.type == "message" and reply.role == "assistant" and reply.model == MODEL
    assert len(reply.content) == 1 and reply.content[0].type == "text" and reply.content[0].text == REPLY
    assert reply.stop_reason == "end_turn"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (12, 7)
    body = gemini.check_call()
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hi"}]}]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"] == {"maxOutputTokens": 300, "stopSequences": ["END"]}


def test_claude_stream_is_the_exact_anthropic_event_sequence(gemini: Gemini) -> None:
    with httpx.stream(
        "POST",
        f"{gemini.relay.server.url}/v1/messages",
        json={
            "model": MODEL,
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "Say hi"}],
        },
        headers={"x-api-key": gemini.relay.key, "anthropic-version": "2023-06-01"},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200
        text = resp.read().decode()
    assert "[DONE]" not in text
    events = _claude_events(text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    assert events[0][1]["message"]["model"] == MODEL and events[0][1]["message"]["role"] == "assistant"
    assert events[0][1]["message"]["usage"]["input_tokens"] == 12  # from Gemini's first chunk
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == REPLY
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] == 7
    gemini.check_call(stream=True)


def _claude_tool() -> Any:
    return {"name": "get_weather", "description": "Weather of a city", "input_schema": STRICT_WEATHER_SCHEMA}


def test_claude_tools(gemini: Gemini) -> None:
    gemini.fake.script.tool_call = True
    reply = gemini.claude().messages.create(
        model=MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[_claude_tool()],
        tool_choice={"type": "any"},
    )
    uses = [block for block in reply.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}
    assert uses[0].id.startswith("call_")
    assert reply.stop_reason == "tool_use"
    body = gemini.check_call()
    assert body["tools"] == DECLARED_TOOLS
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_claude_streamed_tools(gemini: Gemini) -> None:
    gemini.fake.script.tool_call = True
    with gemini.claude().messages.stream(
        model=MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[_claude_tool()],
    ) as stream:
        final = stream.get_final_message()
    uses = [block for block in final.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    assert gemini.check_call(stream=True)["tools"] == DECLARED_TOOLS


def test_claude_tool_history_over_several_turns(gemini: Gemini) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_9",
                    "content": [{"type": "text", "text": "Sunny"}],
                },
                {"type": "text", "text": "And Lyon?"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_10", "name": "get_weather", "input": {"city": "Lyon"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_10",
                    "content": "Unknown city",
                    "is_error": True,
                }
            ],
        },
    ]
    reply = gemini.claude().messages.create(
        model=MODEL,
        max_tokens=300,
        messages=messages,
        tools=[_claude_tool()],
    )
    assert reply.content[0].type == "text" and reply.content[0].text == REPLY
    assert gemini.check_call()["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [{"text": "Let me check."}, _call("toolu_9", "Paris")]},
        {"role": "user", "parts": [_result("toolu_9", "Sunny"), {"text": "And Lyon?"}]},
        {"role": "model", "parts": [_call("toolu_10", "Lyon")]},
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": "toolu_10",
                        "name": "get_weather",
                        "response": {"error": "Unknown city"},
                    }
                }
            ],
        },
    ]


def test_claude_structured_output(gemini: Gemini) -> None:
    output_config = {
        "format": {"type": "json_schema", "schema": {**ANSWER_SCHEMA, "additionalProperties": False}}
    }
    reply = gemini.claude().messages.create(
        model=MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "The answer?"}],
        extra_body={"output_config": output_config},
    )
    assert reply.content[0].type == "text" and json.loads(reply.content[0].text) == {"answer": 42}
    generation = gemini.check_call()["generationConfig"]
    assert generation["responseMimeType"] == "application/json"
    assert generation["responseSchema"] == ANSWER_SCHEMA


def test_claude_images_base64_and_remote(gemini: Gemini) -> None:
    gemini.images.files["/pixel.png"] = ("image/png", base64.b64decode(PIXEL))
    content: list[Any] = [
        {"type": "text", "text": "Compare."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
        {"type": "image", "source": {"type": "url", "url": f"{gemini.images.url}/pixel.png"}},
    ]
    reply = gemini.claude().messages.create(
        model=MODEL, max_tokens=300, messages=[{"role": "user", "content": content}]
    )
    assert reply.content[0].type == "text" and reply.content[0].text == REPLY
    inline = {"inlineData": {"mimeType": "image/png", "data": PIXEL}}
    assert gemini.check_call()["contents"][0]["parts"] == [{"text": "Compare."}, inline, inline]


def test_claude_thinking_blocks_keep_gemini_signatures_across_turns(gemini: Gemini) -> None:
    client = gemini.claude()
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}
    first = client.messages.create(
        model=MODEL, max_tokens=4096, thinking=thinking, messages=[{"role": "user", "content": "Think"}]
    )
    assert [block.type for block in first.content] == ["thinking", "text"]
    assert first.content[0].thinking == THOUGHT  # type: ignore[union-attr]
    assert first.content[0].signature == THOUGHT_SIGNATURE  # type: ignore[union-attr]
    assert first.content[1].text == REPLY  # type: ignore[union-attr]
    assert first.usage.output_tokens == 7 + 25
    assert gemini.check_call()["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 2048,
        "includeThoughts": True,
    }
    history: list[Any] = [
        {"role": "user", "content": "Think"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": "Go on"},
    ]
    client.messages.create(model=MODEL, max_tokens=4096, thinking=thinking, messages=history)
    assert gemini.check_call()["contents"][1] == {
        "role": "model",
        "parts": [{"text": THOUGHT, "thought": True}, {"text": REPLY, "thoughtSignature": THOUGHT_SIGNATURE}],
    }


def test_claude_streamed_thinking_block_with_signature(gemini: Gemini) -> None:
    gemini.fake.script.thinking = True
    with gemini.claude().messages.stream(
        model=MODEL, max_tokens=300, messages=[{"role": "user", "content": "Think"}]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == THOUGHT and final.content[0].signature == THOUGHT_SIGNATURE  # type: ignore[union-attr]
    assert final.content[1].text == REPLY  # type: ignore[union-attr]
    assert final.usage.output_tokens == 7 + 25


# ---- billing ---------------------------------------------------------------------------------

# gemini-2.5-pro: input 0.625, output 0.625·8 = 5, cached input 0.0625 (quota per token):
# (1000 − 400)·0.625 + 400·0.0625 + (100 + 200)·5 = 375 + 25 + 1500 = 1900.
THOUGHT_QUOTA = 1900


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_thought_tokens_are_billed_as_output(gemini: Gemini, stream: bool) -> None:
    s = gemini.fake.script
    s.thinking, s.prompt_tokens, s.candidates_tokens, s.thoughts_tokens, s.cached_tokens = (
        True,
        1000,
        100,
        200,
        400,
    )
    client = gemini.chat()
    messages: Any = [{"role": "user", "content": "hi"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="gemini-2.5-pro", messages=messages, stream=True, stream_options={"include_usage": True}
            )
        )
        usage = chunks[-1].usage
    else:
        usage = client.chat.completions.create(model="gemini-2.5-pro", messages=messages).usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 300, 1300)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 400
    assert (
        usage.completion_tokens_details is not None
        and usage.completion_tokens_details.reasoning_tokens == 200
    )
    gemini.relay.wait_flushed(1)
    relay = gemini.relay
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == THOUGHT_QUOTA
    assert relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == 1000
    assert relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2") == 300
    assert relay.scalar("SELECT cached_prompt_tokens FROM logs WHERE type = 2") == 400
    assert relay.scalar("SELECT model_name FROM logs WHERE type = 2") == "gemini-2.5-pro"
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA - THOUGHT_QUOTA
    assert (
        relay.scalar("SELECT used_quota FROM channels WHERE id = :id", id=gemini.channel_id) == THOUGHT_QUOTA
    )


def test_claude_caller_is_billed_the_same(gemini: Gemini) -> None:
    s = gemini.fake.script
    s.thinking, s.prompt_tokens, s.candidates_tokens, s.thoughts_tokens, s.cached_tokens = (
        True,
        1000,
        100,
        200,
        400,
    )
    reply = gemini.claude().messages.create(
        model="gemini-2.5-pro", max_tokens=500, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.usage.input_tokens == 600 and reply.usage.cache_read_input_tokens == 400
    assert reply.usage.output_tokens == 300
    gemini.relay.wait_flushed(1)
    assert gemini.relay.scalar("SELECT quota FROM logs WHERE type = 2") == THOUGHT_QUOTA


# ---- model mapping, errors -------------------------------------------------------------------


def test_mapped_model_goes_upstream_and_the_callers_name_comes_back(gemini: Gemini) -> None:
    reply = gemini.chat().chat.completions.create(
        model="my-gemini", messages=[{"role": "user", "content": "x"}]
    )
    assert reply.model == "my-gemini"
    gemini.check_call(MODEL)
    chunks = list(
        gemini.chat().chat.completions.create(
            model="my-gemini", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert {c.model for c in chunks} == {"my-gemini"}
    with gemini.claude().messages.stream(
        model="my-gemini", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    ) as stream:
        assert stream.get_final_message().model == "my-gemini"
    gemini.check_call(MODEL, stream=True)
    gemini.relay.wait_flushed(3)
    assert gemini.relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2 AND model_name = :m", m=MODEL) == 3


def _gemini_error(status: int, message: str, google_status: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "status": google_status}}


@pytest.mark.parametrize(
    ("status", "google_status", "chat_error", "claude_type"),
    [
        (400, "INVALID_ARGUMENT", openai.BadRequestError, "invalid_request_error"),
        (404, "NOT_FOUND", openai.NotFoundError, "not_found_error"),
    ],
)
def test_upstream_4xx_reaches_callers_in_their_shape(
    gemini: Gemini, status: int, google_status: str, chat_error: type[Exception], claude_type: str
) -> None:
    gemini.fake.script.failures = [_gemini_error(status, "bad thing", google_status)] * 2
    with pytest.raises(chat_error) as caught:
        gemini.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    body: Any = caught.value.body  # type: ignore[attr-defined]
    assert getattr(caught.value, "status_code", None) == status
    assert body["message"].startswith("bad thing")
    with pytest.raises(anthropic.APIStatusError) as claude_caught:
        gemini.claude().messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert claude_caught.value.status_code == status
    claude_body: Any = claude_caught.value.body
    assert claude_body["type"] == "error" and claude_body["error"]["type"] == claude_type
    assert claude_body["error"]["message"].startswith("bad thing")
    assert gemini.relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


def test_upstream_5xx_and_429_keep_their_status(gemini: Gemini) -> None:
    gemini.relay.root.put("/api/option/", json={"key": "RetryTimes", "value": "0"})
    gemini.fake.script.failures = [
        _gemini_error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE"),
        _gemini_error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
    ]
    with pytest.raises(openai.InternalServerError) as caught:
        gemini.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 503
    with pytest.raises(anthropic.RateLimitError) as limited:
        gemini.claude().messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    limited_body: Any = limited.value.body
    assert limited_body["error"]["type"] == "rate_limit_error"


def test_cut_stream_ends_claude_stream_with_an_error_event(gemini: Gemini) -> None:
    gemini.fake.script.cut = True
    with httpx.stream(
        "POST",
        f"{gemini.relay.server.url}/v1/messages",
        json={
            "model": MODEL,
            "max_tokens": 10,
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        },
        headers={"x-api-key": gemini.relay.key},
        timeout=30,
    ) as resp:
        text = resp.read().decode()
    events = _claude_events(text)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "error"
    assert "message_stop" not in names
    assert "upstream stream broke" in events[-1][1]["error"]["message"]
    gemini.relay.wait_flushed(1)  # the tokens seen so far are billed


def test_cut_stream_ends_chat_stream_with_an_error_chunk(gemini: Gemini) -> None:
    gemini.fake.script.cut = True
    with httpx.stream(
        "POST",
        f"{gemini.relay.server.url}/v1/chat/completions",
        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {gemini.relay.key}"},
        timeout=30,
    ) as resp:
        payloads = _sse_payloads(resp)
    assert json.loads(payloads[0])["object"] == "chat.completion.chunk"
    assert "[DONE]" not in payloads
    error = json.loads(payloads[-1])["error"]
    assert "upstream stream broke" in error["message"]
    gemini.relay.wait_flushed(1)


def test_gemini_answer_id_and_finish_reasons(gemini: Gemini) -> None:
    gemini.fake.script.finish_reason = "MAX_TOKENS"
    reply = gemini.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].finish_reason == "length"
    assert RESPONSE_ID in reply.id
    gemini.fake.script.finish_reason = "SAFETY"
    blocked = gemini.chat().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert blocked.choices[0].finish_reason == "content_filter"
    claude = gemini.claude().messages.create(
        model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    assert claude.id == f"msg_{RESPONSE_ID}" and claude.stop_reason == "refusal"


# ---- the channel test, the OpenAI-compatible surface -----------------------------------------


def test_channel_test_speaks_gemini(gemini: Gemini) -> None:
    result = gemini.relay.root.get(f"/api/channel/test/{gemini.channel_id}", params={"model": MODEL})
    assert result["success"] is True, result
    assert result["message"] == REPLY
    sent = gemini.sent
    assert sent.path == f"/v1beta/models/{MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == "upstream-key"
    assert sent.body["contents"][0]["role"] == "user"
    gemini.fake.script.failures = [
        _gemini_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
    ]
    failed = gemini.relay.root.get(f"/api/channel/test/{gemini.channel_id}", params={"model": MODEL})
    assert failed["success"] is False and "API key not valid" in failed["message"]


def test_embeddings_go_to_the_openai_compatible_surface(gemini: Gemini) -> None:
    gemini.relay.add_channel(gemini.fake, type=24, models="gemini-embedding-001", name="gemini-embed")  # type: ignore[arg-type]
    result = gemini.chat().embeddings.create(model="gemini-embedding-001", input=["a", "b"])
    assert len(result.data) == 2
    sent = gemini.sent
    assert sent.path == "/v1beta/openai/embeddings"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.body == {
        "model": "gemini-embedding-001",
        "input": ["a", "b"],
        "encoding_format": "base64",
    } or (sent.body["input"] == ["a", "b"])


# ---- Responses inbound -----------------------------------------------------------------------

RESPONSES_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": WEATHER_SCHEMA,
}


def test_responses_plain(gemini: Gemini) -> None:
    reply = gemini.chat().responses.create(
        model=MODEL, instructions="Be brief.", input="Say hi", max_output_tokens=50
    )
    assert reply.object == "response" and reply.status == "completed" and reply.model == MODEL
    assert reply.output_text == REPLY and reply.instructions == "Be brief."
    assert reply.usage is not None and (reply.usage.input_tokens, reply.usage.output_tokens) == (12, 7)
    body = gemini.check_call()
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hi"}]}]
    assert body["generationConfig"] == {"maxOutputTokens": 50}
    gemini.relay.wait_flushed(1)
    assert gemini.relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2") == 7


def test_responses_stream_is_openai_s_event_sequence(gemini: Gemini) -> None:
    with httpx.stream(
        "POST",
        f"{gemini.relay.server.url}/v1/responses",
        json={"model": MODEL, "input": "Say hi", "stream": True},
        headers={"Authorization": f"Bearer {gemini.relay.key}"},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200
        text = resp.read().decode()
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
    assert kinds.count("response.output_text.delta") == 3 and "[DONE]" not in text
    events = list(gemini.chat().responses.create(model=MODEL, input="Say hi", stream=True))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY
    final: Any = events[-1]
    assert final.type == "response.completed" and final.response.output_text == REPLY
    assert final.response.usage.output_tokens == 7
    gemini.check_call(stream=True)


def test_responses_tools(gemini: Gemini) -> None:
    gemini.fake.script.tool_call = True
    reply = gemini.chat().responses.create(model=MODEL, input="Weather in Paris?", tools=[RESPONSES_TOOL])
    calls: Any = [item for item in reply.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].call_id.startswith("call_")
    assert json.loads(calls[0].arguments) == {"city": "Paris"}
    assert gemini.check_call()["tools"] == DECLARED_TOOLS


def test_responses_streamed_tools_and_tool_history(gemini: Gemini) -> None:
    gemini.fake.script.tool_call = True
    events: Any = list(
        gemini.chat().responses.create(model=MODEL, input="Weather?", tools=[RESPONSES_TOOL], stream=True)
    )
    added = [
        e.item for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"
    ]
    assert len(added) == 1 and added[0].name == "get_weather"
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(arguments) == {"city": "Paris"}
    assert events[-1].type == "response.completed"
    gemini.check_call(stream=True)
    gemini.fake.script.tool_call = False
    history: Any = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "function_call",
            "call_id": added[0].call_id,
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": added[0].call_id, "output": "Sunny"},
    ]
    reply = gemini.chat().responses.create(model=MODEL, input=history, tools=[RESPONSES_TOOL])
    assert reply.output_text == REPLY
    assert gemini.check_call()["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [_call(added[0].call_id, "Paris")]},
        {"role": "user", "parts": [_result(added[0].call_id, "Sunny")]},
    ]


def test_cut_stream_ends_responses_stream_with_an_error_event(gemini: Gemini) -> None:
    gemini.fake.script.cut = True
    with httpx.stream(
        "POST",
        f"{gemini.relay.server.url}/v1/responses",
        json={"model": MODEL, "input": "x", "stream": True},
        headers={"Authorization": f"Bearer {gemini.relay.key}"},
        timeout=30,
    ) as resp:
        text = resp.read().decode()
    kinds = [line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")]
    assert kinds[0] == "response.created" and "response.output_text.delta" in kinds
    assert "error" in kinds and "response.completed" not in kinds and "[DONE]" not in text
    gemini.relay.wait_flushed(1)
