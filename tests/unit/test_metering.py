"""Local token counts match OpenAI's tokenizers and the chat counting formula (SPEC §5.4)."""

from __future__ import annotations

import time

import bpe_openai
import orjson
import pytest

from oneapi.relay.metering import (
    MAX_ENCODED_CHARS,
    approximate,
    count_chat_prompt,
    count_input,
    count_text,
    encoding_name,
)

O200K_MODEL = "gpt-4o"
CL100K_MODEL = "gpt-3.5-turbo"


def user(content: object, **extra: object) -> dict[str, object]:
    return {"role": "user", "content": content, **extra}


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-32k", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("claude-sonnet-4-5", "o200k_base"),
        ("some-new-model", "o200k_base"),
    ],
)
def test_model_chooses_its_encoding(model: str, encoding: str) -> None:
    assert encoding_name(model) == encoding


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_encoders_are_openais_vocabularies() -> None:
    # token ids published for tiktoken
    cl100k, o200k = bpe_openai.get_encoding("cl100k_base"), bpe_openai.get_encoding("o200k_base")
    assert cl100k.encode_ordinary("hello world") == [15339, 1917]
    assert o200k.encode_ordinary("hello world") == [24912, 2375]
    assert cl100k.encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]


@pytest.mark.parametrize("model", [O200K_MODEL, CL100K_MODEL])
def test_known_text_counts(model: str) -> None:
    assert count_text("hello world", model) == 2
    assert count_text("The quick brown fox jumps over the lazy dog.", model) == 10
    assert count_text("", model) == 0


def test_encodings_differ_where_vocabularies_do() -> None:
    assert count_text("tiktoken is great!", CL100K_MODEL) == 6
    assert count_text("你好世界", O200K_MODEL) == 2
    assert count_text("你好世界", CL100K_MODEL) == 5


def test_special_token_text_and_lone_surrogates_count_as_plain_text() -> None:
    assert count_text("<|endoftext|>", O200K_MODEL) == 7
    assert count_text("\ud800x", O200K_MODEL) >= 1


def test_huge_text_is_estimated_quickly_and_closely() -> None:
    text = "hello world " * 100_000  # 1.2M characters, ~2 tokens per repetition
    assert len(text) > MAX_ENCODED_CHARS
    start = time.perf_counter()
    counted = count_text(text, O200K_MODEL)
    assert time.perf_counter() - start < 0.5
    assert abs(counted - 200_000) / 200_000 < 0.01


@pytest.mark.parametrize("model", [O200K_MODEL, CL100K_MODEL])
def test_one_message_hi_is_3_per_message_plus_role_plus_content_plus_3(model: str) -> None:
    # 3 + "user"(1) + "hi"(1) + 3
    assert count_chat_prompt([user("hi")], model) == 8


def test_name_adds_one_token_plus_its_text() -> None:
    # 8 + 1 + "bob"(1)
    assert count_chat_prompt([user("hi", name="bob")], O200K_MODEL) == 10


def test_legacy_0301_counts_4_per_message_and_name_minus_one() -> None:
    assert count_chat_prompt([user("hi")], "gpt-3.5-turbo-0301") == 9
    assert count_chat_prompt([user("hi", name="bob")], "gpt-3.5-turbo-0301") == 9


def test_several_messages_add_up() -> None:
    system = {"role": "system", "content": "hello world"}
    messages = [system, user("hi"), {"role": "assistant", "content": "hi"}]
    # (3+1+2) + (3+1+1) + (3+1+1) + 3
    assert count_chat_prompt(messages, O200K_MODEL) == 19


def test_text_parts_are_counted_and_images_estimated_without_fetching() -> None:
    text = {"type": "text", "text": "hello world"}
    low = {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png", "detail": "low"}}
    high = {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png", "detail": "high"}}
    bare = {"type": "image_url", "image_url": "http://127.0.0.1:9/x.png"}
    assert count_chat_prompt([user([text])], O200K_MODEL) == 9  # 3 + 1 + 2 + 3
    assert count_chat_prompt([user([text, low])], O200K_MODEL) == 9 + 85
    assert count_chat_prompt([user([text, high])], O200K_MODEL) == 9 + 765
    assert count_chat_prompt([user([bare])], O200K_MODEL) == 7 + 765
    assert count_chat_prompt([user([low])], "gpt-4o-mini") == 7 + 2833


def test_tools_and_tool_calls_are_counted() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    base = count_chat_prompt([user("hi")], O200K_MODEL)
    expected_tools = count_text(orjson.dumps(tools).decode(), O200K_MODEL)
    assert count_chat_prompt([user("hi")], O200K_MODEL, tools=tools) == base + expected_tools
    function = {"name": "get_weather", "arguments": "hello world"}
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": function}],
    }
    names = count_text("get_weather", O200K_MODEL)
    assert count_chat_prompt([call], O200K_MODEL) == 3 + 1 + names + 2 + 3


def test_malformed_messages_do_not_raise() -> None:
    assert count_chat_prompt(["junk", {"role": 5, "content": {"x": 1}}], O200K_MODEL) == 3 + 3
    assert count_chat_prompt([], O200K_MODEL) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [("hello world", 2), (["hello world", "hi"], 3), ([1, 2, 3], 3), ([[1, 2], [3]], 3), (None, 0), (7, 0)],
)
def test_embedding_input_forms(value: object, expected: int) -> None:
    assert count_input(value, "text-embedding-3-small") == expected


@pytest.mark.parametrize(("length", "expected"), [(0, 0), (1, 1), (3, 2), (100, 38), (1000, 380)])
def test_approximate_is_ceil_of_038_per_character(length: int, expected: int) -> None:
    assert approximate("x" * length) == expected
