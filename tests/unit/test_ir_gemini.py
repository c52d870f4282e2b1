"""Gemini generateContent ⇄ IR: requests and schemas (responses: test_ir_gemini_response)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from oneapi.relay import ir
from oneapi.relay.protocols import anthropic_request, gemini, gemini_request, openai_chat_request
from oneapi.relay.protocols.gemini_schema import clean_schema

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
SIGNATURE = "CiQB0e2Kb2h5Cu8Yc3lh0uN0bV3fPcmJp8ZRm2aFxq8Q3xU0ZGcKYgHR7Ypv"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City and country"},
                "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
            },
            "required": ["location"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
CLEAN_WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country"},
        "unit": {"type": "string", "nullable": True, "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}


def chat_body(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hi"}], **fields}


# ---- requests --------------------------------------------------------------------------------


def test_chat_tool_history_with_images_becomes_gemini_contents() -> None:
    body = chat_body(
        messages=[
            {"role": "system", "content": "You are a weather bot."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's the weather where this photo was taken?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Paris, France"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_abc", "content": "18 °C, sunny"},
            {"role": "user", "content": "And in Fahrenheit?"},
        ],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0.3,
        top_p=0.9,
        max_tokens=800,
        stop=["END"],
        seed=7,
    )
    out = gemini_request.request_from_ir(
        openai_chat_request.request_to_ir(body), safety_threshold="BLOCK_NONE"
    )
    assert out == {
        "systemInstruction": {"parts": [{"text": "You are a weather bot."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What's the weather where this photo was taken?"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {
                            "id": "call_abc",
                            "name": "get_weather",
                            "args": {"location": "Paris, France"},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": "call_abc",
                            "name": "get_weather",
                            "response": {"output": "18 °C, sunny"},
                        }
                    },
                    {"text": "And in Fahrenheit?"},
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Get the current weather in a given location",
                        "parameters": CLEAN_WEATHER_PARAMETERS,
                    }
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "generationConfig": {
            "temperature": 0.3,
            "topP": 0.9,
            "maxOutputTokens": 800,
            "seed": 7,
            "stopSequences": ["END"],
        },
        "safetySettings": [
            {"category": category, "threshold": "BLOCK_NONE"} for category in gemini_request.SAFETY_CATEGORIES
        ],
    }
    assert len(out["safetySettings"]) == 5


def test_gemini_request_reads_every_part_kind_and_pairs_responses_without_ids() -> None:
    body = {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Compare these."},
                    {"inlineData": {"mimeType": "image/jpeg", "data": PNG}},
                    {
                        "fileData": {
                            "mimeType": "application/pdf",
                            "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc",
                        }
                    },
                    {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "Let me look.", "thought": True, "thoughtSignature": SIGNATURE},
                    {"functionCall": {"name": "lookup", "args": {"q": "a"}}},
                    {"functionCall": {"name": "lookup", "args": {"q": "b"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "lookup", "response": {"output": "A"}}},
                    {"functionResponse": {"name": "lookup", "response": {"error": "not found"}}},
                ],
            },
        ],
        "tools": [
            {"functionDeclarations": [{"name": "lookup", "parametersJsonSchema": {"type": "object"}}]},
            {"googleSearch": {}},
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {
            "maxOutputTokens": 1024,
            "topK": 40,
            "responseMimeType": "application/json",
            "responseModalities": ["TEXT"],
            "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True},
        },
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    }
    req = gemini_request.request_to_ir(copy.deepcopy(body), model="gemini-2.5-pro")
    assert req.model == "gemini-2.5-pro"
    assert req.system == [ir.TextPart("Be brief.")]
    assert req.messages[0].content == [
        ir.TextPart("Compare these."),
        ir.ImagePart(data=PNG, media_type="image/jpeg"),
        ir.FilePart(
            url="https://generativelanguage.googleapis.com/v1beta/files/abc", media_type="application/pdf"
        ),
        ir.AudioPart("UklGRg==", "wav"),
    ]
    thinking, first, second = req.messages[1].content
    assert thinking == ir.ThinkingPart("Let me look.", SIGNATURE)
    assert (
        isinstance(first, ir.ToolCallPart) and first.id.startswith("call_") and first.arguments == '{"q":"a"}'
    )
    assert isinstance(second, ir.ToolCallPart) and second.id != first.id
    assert req.messages[2].content == [
        ir.ToolResultPart(first.id, [ir.TextPart("A")], name="lookup"),
        ir.ToolResultPart(second.id, [ir.TextPart("not found")], is_error=True, name="lookup"),
    ]
    assert req.tools == [ir.Tool("lookup", parameters={"type": "object"})]
    assert req.tool_choice == ir.ToolChoice(ir.ToolChoiceMode.AUTO)
    assert req.response_format == ir.ResponseFormat("json_object")
    assert req.reasoning == ir.Reasoning(budget_tokens=2048, enabled=True, summary="auto")
    assert req.sampling.max_tokens == 1024 and req.sampling.top_k == 40
    assert req.extra["gemini"] == {
        "safetySettings": body["safetySettings"],
        "tools": [{"googleSearch": {}}],
        "generationConfig": {"responseModalities": ["TEXT"]},
    }
    out = gemini_request.request_from_ir(req)
    assert out["tools"] == [{"functionDeclarations": [{"name": "lookup"}]}, {"googleSearch": {}}]
    assert out["generationConfig"]["responseModalities"] == ["TEXT"]
    assert out["safetySettings"] == body["safetySettings"]
    assert out["contents"][2]["parts"][1] == {
        "functionResponse": {"id": second.id, "name": "lookup", "response": {"error": "not found"}}
    }


def test_structured_output_sends_a_cleaned_response_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "homepage": {"type": "string", "format": "uri"},
            "born": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
        },
        "required": ["name", "tags", "missing"],
        "additionalProperties": False,
        "$defs": {"tag": {"type": "object", "properties": {"label": {"const": "x"}}}},
    }
    body = chat_body(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        }
    )
    out = gemini_request.request_from_ir(openai_chat_request.request_to_ir(body))
    assert out["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "homepage": {"type": "string"},
                "born": {"type": "string", "format": "date-time"},
                "tags": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"label": {"enum": ["x"]}}},
                },
            },
            "required": ["name", "tags"],
        },
    }
    plain = gemini_request.request_from_ir(
        openai_chat_request.request_to_ir(chat_body(response_format={"type": "json_object"}))
    )
    assert plain["generationConfig"] == {"responseMimeType": "application/json"}


def test_schema_cleaner_handles_recursion_unions_and_empty_objects() -> None:
    schema = {
        "type": "object",
        "properties": {
            "node": {"$ref": "#/definitions/node"},
            "choice": {"oneOf": [{"type": "integer", "format": "int64"}, {"type": "null"}]},
            "either": {
                "anyOf": [{"type": "string"}, {"type": "number", "format": "double"}, {"type": "null"}]
            },
            "empty": {"type": "object", "properties": {}, "additionalProperties": True},
            "merged": {"allOf": [{"type": "string", "minLength": 2}], "description": "d"},
            "multi": {"type": ["integer", "string"]},
        },
        "definitions": {"node": {"type": "object", "properties": {"child": {"$ref": "#/definitions/node"}}}},
        "strict": True,
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {
            "node": {"type": "object", "properties": {"child": {"type": "object"}}},
            "choice": {"type": "integer", "format": "int64", "nullable": True},
            "either": {
                "anyOf": [{"type": "string"}, {"type": "number", "format": "double"}],
                "nullable": True,
            },
            "empty": {"type": "object"},
            "merged": {"type": "string", "minLength": 2, "description": "d"},
            "multi": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        },
    }


@pytest.mark.parametrize(
    ("reasoning", "levels", "expected"),
    [
        (
            ir.Reasoning(enabled=True, budget_tokens=4096),
            False,
            {"thinkingBudget": 4096, "includeThoughts": True},
        ),
        (ir.Reasoning(enabled=True, adaptive=True), False, {"thinkingBudget": -1, "includeThoughts": True}),
        (ir.Reasoning(enabled=False), False, {"thinkingBudget": 0}),
        (ir.Reasoning(effort="none", enabled=False), True, {"thinkingLevel": "low"}),
        (
            ir.Reasoning(effort="high", enabled=True),
            False,
            {"thinkingBudget": 24576, "includeThoughts": True},
        ),
        (ir.Reasoning(effort="high", enabled=True), True, {"thinkingLevel": "high", "includeThoughts": True}),
        (
            ir.Reasoning(effort="xhigh", enabled=True),
            True,
            {"thinkingLevel": "high", "includeThoughts": True},
        ),
        (ir.Reasoning(enabled=True), True, {"includeThoughts": True}),
    ],
)
def test_thinking_config_from_budgets_efforts_and_levels(
    reasoning: ir.Reasoning, levels: bool, expected: dict[str, Any]
) -> None:
    req = ir.Request(model="gemini-2.5-flash", messages=[ir.Message(ir.Role.USER, [ir.TextPart("Hi")])])
    req.reasoning = reasoning
    assert (
        gemini_request.request_from_ir(req, thinking_levels=levels)["generationConfig"]["thinkingConfig"]
        == expected
    )


def test_effort_budget_leaves_room_for_the_answer_under_a_small_cap() -> None:
    req = openai_chat_request.request_to_ir(chat_body(reasoning_effort="high", max_tokens=4000))
    config = gemini_request.request_from_ir(req)["generationConfig"]
    assert config["thinkingConfig"] == {"thinkingBudget": 2000, "includeThoughts": True}
    gemini3 = gemini_request.request_from_ir(
        ir.Request(model="gemini-3-pro-preview", reasoning=req.reasoning)
    )
    assert gemini3["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "high", "includeThoughts": True}


def test_claude_thinking_history_reaches_gemini_3_with_signatures_in_place() -> None:
    """A Claude client's history from an earlier Gemini answer: the thought keeps its signature,
    and a call that lost its own (Claude has no field for it) gets the documented placeholder."""
    body = {
        "model": "gemini-3-pro-preview",
        "max_tokens": 2048,
        "system": "Use the tools.",
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Need the tool.", "signature": SIGNATURE},
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "get_weather",
                        "input": {"location": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "call_2",
                        "name": "get_weather",
                        "input": {"location": "Lyon"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18 °C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_2",
                        "content": [{"type": "text", "text": "20 °C"}],
                    },
                ],
            },
        ],
    }
    out = gemini_request.request_from_ir(anthropic_request.request_to_ir(body))
    model_turn = out["contents"][1]["parts"]
    assert model_turn[0] == {"text": "Need the tool.", "thought": True, "thoughtSignature": SIGNATURE}
    assert model_turn[1]["thoughtSignature"] == gemini_request.PLACEHOLDER_SIGNATURE
    assert "thoughtSignature" not in model_turn[2]
    assert [p["functionResponse"]["name"] for p in out["contents"][2]["parts"]] == ["get_weather"] * 2
    assert out["generationConfig"] == {
        "maxOutputTokens": 2048,
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
    }
    older = gemini_request.request_from_ir(
        anthropic_request.request_to_ir({**body, "model": "gemini-2.5-pro"})
    )
    assert "thoughtSignature" not in older["contents"][1]["parts"][1]


def test_system_without_system_instruction_and_unsigned_reasoning_is_dropped() -> None:
    req = openai_chat_request.request_to_ir(
        chat_body(
            messages=[
                {"role": "system", "content": "Rules."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!", "reasoning_content": "greet back"},
                {"role": "system", "content": "Be formal."},
                {"role": "user", "content": "Bye"},
            ]
        )
    )
    out = gemini_request.request_from_ir(req, system_instruction=False, call_ids=False)
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "Rules."}, {"text": "Be formal."}]},
        {"role": "model", "parts": [{"text": "Okay"}]},
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello!"}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]
    assert "systemInstruction" not in out


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
    ],
)
def test_tool_choice_modes(choice: str, config: dict[str, Any]) -> None:
    req = openai_chat_request.request_to_ir(chat_body(tools=[WEATHER], tool_choice=choice))
    out = gemini_request.request_from_ir(req)
    assert out["toolConfig"] == {"functionCallingConfig": config}
    assert gemini_request.request_to_ir(out).tool_choice == req.tool_choice


def test_wrong_field_types_are_conversion_errors() -> None:
    with pytest.raises(ir.ConversionError, match="contents is required"):
        gemini_request.request_to_ir({})
    with pytest.raises(ir.ConversionError, match="role"):
        gemini_request.request_to_ir({"contents": [{"role": "system", "parts": [{"text": "x"}]}]})
    with pytest.raises(ir.ConversionError, match="temperature"):
        gemini_request.request_to_ir({"contents": [], "generationConfig": {"temperature": "hot"}})


def test_a_signed_thought_followed_by_text_gives_the_signature_back_on_the_text() -> None:
    """Gemini signs the part after its thoughts; a Claude caller carries it on the thinking block."""
    body = {
        "model": "gemini-2.5-flash",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Greet them.", "signature": SIGNATURE},
                    {"type": "text", "text": "Hello!"},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "Unsigned.", "signature": ""}],
            },
            {"role": "user", "content": "Bye"},
        ],
    }
    out = gemini_request.request_from_ir(anthropic_request.request_to_ir(body))
    assert out["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Greet them.", "thought": True},
            {"text": "Hello!", "thoughtSignature": SIGNATURE},
        ],
    }
    assert [c["role"] for c in out["contents"]] == ["user", "model", "user"]
    answer = {"candidates": [{"content": {"role": "model", "parts": out["contents"][1]["parts"]}}]}
    assert (
        gemini.response_from_ir(gemini.response_to_ir(answer))["candidates"][0]["content"]["parts"]
        == (out["contents"][1]["parts"])
    )


def test_enums_hold_strings_only() -> None:
    schema = {
        "type": "object",
        "properties": {
            "size": {"type": "integer", "enum": [1, 2, 3]},
            "flag": {"const": True},
            "mode": {"enum": ["a", None]},
            "odd": {"type": "string", "enum": "a"},
        },
    }
    assert clean_schema(schema)["properties"] == {
        "size": {"type": "integer"},
        "flag": {},
        "mode": {"enum": ["a"], "nullable": True},
        "odd": {"type": "string"},
    }
