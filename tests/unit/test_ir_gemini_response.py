"""Gemini generateContent responses ⇄ IR (streams: test_ir_gemini_stream)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from oneapi.relay import ir
from oneapi.relay.protocols import gemini
from tests.unit.test_ir_gemini import PNG, SIGNATURE

# A Gemini 2.5 answer that thought, then called a tool (Gemini gave the call no id).
THINKING_CALL_RESPONSE: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"text": "**Checking the weather**\n\nThe user asks about Paris.", "thought": True},
                    {
                        "functionCall": {"name": "get_weather", "args": {"location": "Paris, France"}},
                        "thoughtSignature": SIGNATURE,
                    },
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 74,
        "candidatesTokenCount": 18,
        "totalTokenCount": 180,
        "cachedContentTokenCount": 32,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 74}],
        "thoughtsTokenCount": 88,
    },
    "modelVersion": "gemini-2.5-flash",
    "responseId": "mK1xaPyUJbqPm9MPp9T4iQQ",
}


# ---- responses -------------------------------------------------------------------------------


def test_thinking_and_function_call_response_to_ir() -> None:
    resp = gemini.response_to_ir(copy.deepcopy(THINKING_CALL_RESPONSE))
    assert resp.id == "mK1xaPyUJbqPm9MPp9T4iQQ" and resp.model == "gemini-2.5-flash"
    thinking, call = resp.content
    assert thinking == ir.ThinkingPart("**Checking the weather**\n\nThe user asks about Paris.")
    assert isinstance(call, ir.ToolCallPart) and call.id.startswith("call_") and len(call.id) == 37
    assert (call.name, call.arguments, call.signature) == (
        "get_weather",
        '{"location":"Paris, France"}',
        SIGNATURE,
    )
    assert resp.stop_reason is ir.StopReason.TOOL_USE
    assert resp.usage == ir.Usage(input_tokens=74, output_tokens=106, cached_tokens=32, reasoning_tokens=88)
    back = gemini.response_from_ir(resp)
    assert back["candidates"][0]["content"]["parts"][1] == {
        "functionCall": {"id": call.id, "name": "get_weather", "args": {"location": "Paris, France"}},
        "thoughtSignature": SIGNATURE,
    }
    assert back["usageMetadata"] == {
        "promptTokenCount": 74,
        "candidatesTokenCount": 18,
        "totalTokenCount": 180,
        "thoughtsTokenCount": 88,
        "cachedContentTokenCount": 32,
    }


def test_text_signature_closes_the_reasoning_and_texts_are_joined() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Thinking", "thought": True},
                        {"text": " more", "thought": True},
                        {"text": "The answer", "thoughtSignature": SIGNATURE},
                        {"text": " is 42."},
                        {"executableCode": {"language": "PYTHON", "code": "print(42)"}},
                    ],
                },
                "finishReason": "MAX_TOKENS",
            }
        ]
    }
    resp = gemini.response_to_ir(body)
    assert resp.content == [ir.ThinkingPart("Thinking more", SIGNATURE), ir.TextPart("The answer is 42.")]
    assert resp.stop_reason is ir.StopReason.MAX_TOKENS and resp.usage is None
    lone = gemini.response_to_ir(
        {"candidates": [{"content": {"parts": [{"text": "Hi", "thoughtSignature": "s"}]}}]}
    )
    assert lone.content == [ir.ThinkingPart("", "s"), ir.TextPart("Hi")]
    assert gemini.response_from_ir(lone)["candidates"][0]["content"]["parts"] == [
        {"text": "Hi", "thoughtSignature": "s"}
    ]


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("STOP", ir.StopReason.END_TURN),
        ("MAX_TOKENS", ir.StopReason.MAX_TOKENS),
        ("SAFETY", ir.StopReason.CONTENT_FILTER),
        ("RECITATION", ir.StopReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", ir.StopReason.CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", ir.StopReason.OTHER),
        ("FINISH_REASON_UNSPECIFIED", None),
    ],
)
def test_finish_reasons(finish: str, reason: ir.StopReason | None) -> None:
    body = {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": finish}]}
    assert gemini.response_to_ir(body).stop_reason is reason


def test_blocked_prompt_is_a_content_filter_stop() -> None:
    body = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.5-flash",
    }
    resp = gemini.response_to_ir(body)
    assert resp.content == [] and resp.stop_reason is ir.StopReason.CONTENT_FILTER
    assert resp.usage == ir.Usage(input_tokens=9)


def test_image_output_and_tool_use_prompt_tokens() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "Here:"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 10, "toolUsePromptTokenCount": 5, "candidatesTokenCount": 1290},
    }
    resp = gemini.response_to_ir(body)
    assert resp.content == [ir.TextPart("Here:"), ir.ImagePart(data=PNG, media_type="image/png")]
    assert resp.usage == ir.Usage(input_tokens=15, output_tokens=1290)
