"""OpenAI request normalisation (SPEC §6.2) on parsed chat bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from oneapi.relay.openai_params import (
    ensure_stream_usage,
    is_reasoning_model,
    is_search_model,
    normalize_chat,
)


@pytest.mark.parametrize(
    "model",
    ["o1", "o1-mini", "o1-2024-12-17", "o3", "o3-mini", "o3-pro", "o4-mini", "gpt-5", "gpt-5-mini",
     "gpt-5-nano", "gpt-5.1", "GPT-5", "openai/o3-mini", "openai/gpt-5"],
)  # fmt: skip
def test_reasoning_models_are_recognised(model: str) -> None:
    assert is_reasoning_model(model)


@pytest.mark.parametrize(
    "model",
    ["gpt-5-chat-latest", "gpt-5-chat", "gpt-4o", "gpt-4.1", "o1x", "omni-moderation-latest",
     "deepseek-reasoner", "claude-3-7-sonnet", "openai/gpt-4o", "gpt-4o-search-preview"],
)  # fmt: skip
def test_other_models_are_not_reasoning_models(model: str) -> None:
    assert not is_reasoning_model(model)


def test_search_models_are_recognised() -> None:
    assert is_search_model("gpt-4o-search-preview")
    assert is_search_model("gpt-4o-mini-search-preview-2025-03-11")
    assert not is_search_model("gpt-4o")


def _normalized(body: dict[str, Any], model: str, enforce: bool = True) -> tuple[dict[str, Any], bool]:
    out = copy.deepcopy(body)
    changed = normalize_chat(out, model, enforce)
    return out, changed


def test_reasoning_model_body_is_rewritten() -> None:
    before = {
        "model": "o3-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "again"}]},
        ],
        "max_tokens": 100,
        "top_p": 0.9,
        "temperature": 0.2,
        "reasoning_effort": "high",
    }
    after, changed = _normalized(before, "o3-mini")
    assert changed
    assert after == {
        "model": "o3-mini",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "again"}]},
        ],
        "max_completion_tokens": 100,
        "reasoning_effort": "high",
    }


def test_reasoning_model_keeps_temperature_one_and_an_explicit_completion_cap() -> None:
    before = {"messages": [], "temperature": 1, "max_tokens": 10, "max_completion_tokens": 50}
    after, changed = _normalized(before, "gpt-5")
    assert changed
    assert after == {"messages": [], "temperature": 1, "max_completion_tokens": 50}


def test_reasoning_model_body_already_right_is_unchanged() -> None:
    before = {"messages": [{"role": "developer", "content": "x"}], "max_completion_tokens": 5}
    after, changed = _normalized(before, "o4-mini", enforce=False)
    assert not changed
    assert after == before


def test_non_reasoning_openai_model_drops_reasoning_effort_only() -> None:
    before = {
        "messages": [{"role": "system", "content": "s"}],
        "max_tokens": 7,
        "temperature": 0.3,
        "top_p": 0.5,
        "reasoning_effort": "low",
    }
    after, changed = _normalized(before, "gpt-4o")
    assert changed
    expected = dict(before)
    del expected["reasoning_effort"]
    assert after == expected


def test_gpt5_chat_is_treated_as_non_reasoning() -> None:
    after, changed = _normalized({"temperature": 0.5, "reasoning_effort": "low"}, "gpt-5-chat-latest")
    assert changed
    assert after == {"temperature": 0.5}


def test_other_vendors_keep_reasoning_effort() -> None:
    before = {"messages": [], "reasoning_effort": "low", "temperature": 0.1}
    for model in ("grok-3-mini", "gemini-2.5-flash", "deepseek-reasoner", "qwen3-32b"):
        after, changed = _normalized(before, model)
        assert not changed
        assert after == before


def test_search_model_drops_sampling_parameters() -> None:
    before = {
        "messages": [{"role": "user", "content": "news"}],
        "temperature": 0.7,
        "top_p": 1,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "n": 1,
        "web_search_options": {"search_context_size": "low"},
    }
    after, changed = _normalized(before, "gpt-4o-search-preview")
    assert changed
    assert after == {
        "messages": [{"role": "user", "content": "news"}],
        "web_search_options": {"search_context_size": "low"},
    }


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}),
        (
            {"stream": True, "stream_options": {"include_usage": False, "x": 1}},
            {"stream": True, "stream_options": {"include_usage": True, "x": 1}},
        ),
        (
            {"stream": True, "stream_options": None},
            {"stream": True, "stream_options": {"include_usage": True}},
        ),
    ],
)
def test_streams_ask_for_usage(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert ensure_stream_usage(before)
    assert before == after


def test_usage_request_not_added_when_not_streaming_already_set_or_disabled() -> None:
    for body in ({"stream": False}, {}, {"stream": True, "stream_options": {"include_usage": True}}):
        assert not ensure_stream_usage(body)
    after, changed = _normalized({"stream": True}, "gpt-4o", enforce=False)
    assert not changed
    assert after == {"stream": True}


def test_unknown_fields_are_untouched() -> None:
    before = {
        "model": "o3",
        "messages": [{"role": "user", "content": "x", "vendor_field": {"a": [1, 2]}}],
        "max_tokens": 3,
        "stream": True,
        "metadata": {"k": "v"},
        "x_custom": [1, {"nested": None}],
        "logit_bias": {"50256": -100},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    }
    after, changed = _normalized(before, "o3")
    assert changed
    for key in ("model", "metadata", "x_custom", "logit_bias", "tools", "stream"):
        assert after[key] == before[key]
    assert after["messages"] == before["messages"]
    assert after["max_completion_tokens"] == 3
    assert after["stream_options"] == {"include_usage": True}


def test_body_without_messages_or_with_odd_messages_does_not_crash() -> None:
    after, changed = _normalized({"messages": "not a list", "top_p": 1}, "o1")
    assert changed
    assert after == {"messages": "not a list"}
    after, _ = _normalized({"messages": [None, "x", {"role": "system"}]}, "o1")
    assert after["messages"] == [None, "x", {"role": "developer"}]
