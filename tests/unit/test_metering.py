"""Local token counts match OpenAI's tokenizers and the chat counting formula (SPEC §5.4)."""

from __future__ import annotations

import subprocess
import sys
import time

import bpe_openai
import orjson
import pytest

from oneapi.relay.metering import (
    MAX_ENCODED_CHARS,
    approximate,
    chat_prompt_bound,
    count_chat_prompt,
    count_input,
    count_text,
    encoding_name,
    input_bound,
    text_bound,
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


BOUND_TEXTS = [
    "",
    "hello world",
    "你好世界，今天天气很好",
    "emoji 🎉🎉🎉 and ümlauts",
    "\ud800x lone surrogate",
    "<|endoftext|>" * 3,
    "a" * 50,
    " ".join(str(n) for n in range(500)),
]


@pytest.mark.parametrize("model", [O200K_MODEL, CL100K_MODEL])
@pytest.mark.parametrize("text", BOUND_TEXTS)
def test_text_bound_is_never_below_the_count(text: str, model: str) -> None:
    assert text_bound(text) >= count_text(text, model)


def test_text_bound_holds_for_sampled_huge_texts() -> None:
    dense = "你好" * 8_000 + "x" * (MAX_ENCODED_CHARS * 2) + "你好" * 8_000  # samples denser than the rest
    assert text_bound(dense) >= count_text(dense, O200K_MODEL)
    ascii_text = "hello world " * 30_000
    assert text_bound(ascii_text) >= count_text(ascii_text, O200K_MODEL)


@pytest.mark.parametrize("model", [O200K_MODEL, "gpt-3.5-turbo-0301", "gpt-4o-mini"])
def test_chat_prompt_bound_is_never_below_the_count(model: str) -> None:
    image = {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png"}}
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"c": "巴黎"}'}}
    conversations = [
        [user("hi")],
        [user("hi", name="bob"), {"role": "assistant", "content": None, "tool_calls": [call]}],
        [{"role": "system", "content": "你好世界"}, user([{"type": "text", "text": "what is this?"}, image])],
        ["junk", {"role": 5}],
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    for messages in conversations:
        assert chat_prompt_bound(messages, model) >= count_chat_prompt(messages, model)
        assert chat_prompt_bound(messages, model, tools) >= count_chat_prompt(messages, model, tools)


@pytest.mark.parametrize("value", ["hello world", ["你好", "hi"], [1, 2, 3], [[1, 2], [3]], None])
def test_input_bound_is_never_below_the_count(value: object) -> None:
    assert input_bound(value, "text-embedding-3-small") >= count_input(value, "text-embedding-3-small")


def test_nothing_is_loaded_until_a_count_is_made() -> None:
    # A fresh interpreter: the app imports no tokenizer library; a count builds one encoder only.
    code = (
        "import sys, asyncio\n"
        "import oneapi.app\n"
        "from oneapi.relay import metering\n"
        "assert 'bpe_openai' not in sys.modules\n"
        # the bound of "hi" from a user: (3 + 4 + 2) + 3, bytes standing in for tokens
        "assert metering.chat_prompt_bound([{'role': 'user', 'content': 'hi'}], 'gpt-4o') == 12\n"
        "assert 'bpe_openai' not in sys.modules and not metering.loaded('gpt-4o')\n"
        "asyncio.run(metering.ready('gpt-4o'))\n"
        "assert metering.loaded('gpt-4o') and not metering.loaded('gpt-4')\n"
        "assert metering.count_text('hello world', 'gpt-4') == 2 and metering.loaded('gpt-4')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
