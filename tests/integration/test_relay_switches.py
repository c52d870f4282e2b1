"""`?thinking=`, `?reasoning_effort=` and `?reasoning_format=` (SPEC §6.3) mean the same on every
channel, including one that speaks the caller's own protocol (which then leaves the fast lane)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_anthropic import SIGNATURE, THINKING, FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_responses import FakeResponses
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """URL switches do not depend on the database."""
    return str(request.param)


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, 10_000_000)


@pytest.fixture
def chat_fake() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def claude_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


@pytest.fixture
def responses_fake() -> Iterator[FakeResponses]:
    fake = FakeResponses().start()
    yield fake
    fake.stop()


def _chat(relay: RelaySetup, query: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = httpx.post(
        f"{relay.server.url}/v1/chat/completions{query}",
        json={"messages": [{"role": "user", "content": "x"}], **body},
        headers={"Authorization": f"Bearer {relay.key}"},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


@pytest.mark.parametrize(
    ("query", "body_effort", "sent_effort"),
    [
        ("?thinking=true", None, "medium"),
        ("?thinking=on&reasoning_effort=high", None, "high"),
        ("?thinking=1", "low", "low"),  # the body decided: the switch does not override it
        ("?thinking=false", None, None),  # o-series reasoning cannot be turned off: nothing sent
    ],
)
def test_thinking_switch_sets_reasoning_effort_on_openai_channels(
    relay: RelaySetup, chat_fake: FakeOpenAI, query: str, body_effort: str | None, sent_effort: str | None
) -> None:
    relay.add_channel(chat_fake, models="o4-mini")
    body: dict[str, Any] = {"model": "o4-mini"}
    if body_effort:
        body["reasoning_effort"] = body_effort
    _chat(relay, query, body)
    assert chat_fake.received[-1].body.get("reasoning_effort") == sent_effort


def test_no_switch_keeps_the_chat_fast_lane(relay: RelaySetup, chat_fake: FakeOpenAI) -> None:
    relay.add_channel(chat_fake, models="deepseek-reasoner", type=36)
    chat_fake.script.reasoning = "Because."
    reply = _chat(relay, "", {"model": "deepseek-reasoner", "odd_field": [1]})
    message = reply["choices"][0]["message"]
    assert message["reasoning_content"] == "Because." and "reasoning" not in message
    assert chat_fake.received[-1].body == {
        "model": "deepseek-reasoner",
        "messages": [{"role": "user", "content": "x"}],
        "odd_field": [1],
    }


@pytest.mark.parametrize("fmt", ["reasoning", "thinking", "reasoning_content"])
def test_reasoning_format_renames_the_field_on_a_chat_channel(
    relay: RelaySetup, chat_fake: FakeOpenAI, fmt: str
) -> None:
    relay.add_channel(chat_fake, models="deepseek-reasoner", type=36)
    chat_fake.script.reasoning = "Because."
    reply = _chat(relay, f"?reasoning_format={fmt}", {"model": "deepseek-reasoner", "odd_field": [1]})
    message = reply["choices"][0]["message"]
    assert message[fmt] == "Because."
    assert {"reasoning", "thinking", "reasoning_content"} & set(message) == {fmt}
    assert message["content"] == chat_fake.script.reply
    assert chat_fake.received[-1].body["odd_field"] == [1]  # unknown fields survive the IR


def test_reasoning_format_renames_stream_deltas_on_a_chat_channel(
    relay: RelaySetup, chat_fake: FakeOpenAI
) -> None:
    relay.add_channel(chat_fake, models="deepseek-reasoner", type=36)
    chat_fake.script.reasoning = "Because."
    with httpx.stream(
        "POST",
        f"{relay.server.url}/v1/chat/completions?reasoning_format=thinking",
        json={"model": "deepseek-reasoner", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {relay.key}"},
    ) as resp:
        lines = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    deltas = [c["choices"][0]["delta"] for c in map(json.loads, lines[:-1]) if c.get("choices")]
    assert "".join(d.get("thinking") or "" for d in deltas) == "Because."
    assert not any("reasoning_content" in d for d in deltas)
    assert "".join(d.get("content") or "" for d in deltas) == chat_fake.script.reply


def test_thinking_switch_turns_on_claude_thinking_on_the_claude_fast_lane(
    relay: RelaySetup, claude_fake: FakeAnthropic
) -> None:
    relay.add_channel(claude_fake, type=14, models="claude-sonnet-4")  # type: ignore[arg-type]
    client = anthropic.Anthropic(base_url=relay.server.url, api_key=relay.key, max_retries=0)
    reply = client.messages.create(
        model="claude-sonnet-4",
        max_tokens=4096,
        messages=[{"role": "user", "content": "x"}],
        extra_query={"thinking": "true"},
    )
    sent = claude_fake.received[-1].body
    assert sent["thinking"]["type"] == "enabled" and 1024 <= sent["thinking"]["budget_tokens"] < 4096
    assert reply.content[0].type == "thinking"
    assert reply.content[0].thinking == THINKING and reply.content[0].signature == SIGNATURE


def test_thinking_switch_sets_reasoning_on_the_responses_fast_lane(
    relay: RelaySetup, responses_fake: FakeResponses
) -> None:
    relay.add_channel(
        responses_fake, type=50, models="o4-mini", config=json.dumps({"api_format": "response"})
    )  # type: ignore[arg-type]
    resp = httpx.post(
        f"{relay.server.url}/v1/responses?thinking=true&reasoning_effort=high",
        json={"model": "o4-mini", "input": "x", "odd_field": 1},
        headers={"Authorization": f"Bearer {relay.key}"},
    )
    assert resp.status_code == 200, resp.text
    sent = responses_fake.received[-1].body
    assert sent["reasoning"]["effort"] == "high" and sent["odd_field"] == 1
    kinds = [item["type"] for item in resp.json()["output"]]
    assert kinds == ["reasoning", "message"]


@pytest.mark.parametrize(("channel_type", "field"), [(36, "reasoning_content"), (20, "reasoning")])
@pytest.mark.parametrize("stream", [False, True])
def test_deepseek_and_openrouter_reasoning_reach_claude_and_responses_callers(
    relay: RelaySetup, chat_fake: FakeOpenAI, channel_type: int, field: str, stream: bool
) -> None:
    relay.add_channel(chat_fake, type=channel_type, models="deepseek-r1")
    chat_fake.script.reasoning, chat_fake.script.reasoning_field = "Because.", field
    client = anthropic.Anthropic(base_url=relay.server.url, api_key=relay.key, max_retries=0)
    claude_args: dict[str, Any] = {
        "model": "deepseek-r1",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "x"}],
    }
    if stream:
        with client.messages.stream(**claude_args) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**claude_args)
    assert message.content[0].type == "thinking" and message.content[0].thinking == "Because."
    assert message.content[1].type == "text" and message.content[1].text == chat_fake.script.reply
    responses = relay.client().responses.create(model="deepseek-r1", input="x", stream=stream)
    answer = list(responses)[-1].response if stream else responses  # type: ignore[union-attr, arg-type]
    reasoning = [item for item in answer.output if item.type == "reasoning"]
    assert reasoning and reasoning[0].summary[0].text == "Because."
    assert answer.output_text == chat_fake.script.reply
