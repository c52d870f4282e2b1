"""Gemini `generateContent` request bodies ⇄ IR (SPEC §6.8).

The model and streaming are in the URL, not the body: `request_to_ir` takes the model as an
argument, and `request_from_ir` leaves both out.

Reading: `systemInstruction`, `contents` (role user/model), `functionDeclarations` (`parameters`
or `parametersJsonSchema`), `toolConfig.functionCallingConfig` (ANY with one allowed name is a
named choice), `generationConfig` (sampling, JSON output, `thinkingConfig`). Other fields, other
tools (Google Search, code execution) and unknown `generationConfig` / `toolConfig` keys stay in
`extra["gemini"]`.

Writing:
- System prompt and system messages from the middle of the conversation go to
  `systemInstruction`, or (`system_instruction=False`, models without one) to a first user turn
  answered by "Okay". Messages left with no part are dropped and same-role neighbours merged.
- Schemas (tool parameters, `responseSchema`) pass through `clean_schema`; a tool whose schema has
  no properties is declared without `parameters`.
- Thinking: a budget as given, -1 for adaptive, 0 when disabled; an effort alone becomes a
  budget, or a `thinkingLevel` for Gemini 3 (`thinking_levels`, by default from the model
  name). `includeThoughts` is on whenever thinking is, so callers see it; on reading it is the
  IR's summary "auto".
- Gemini 3 refuses a function call in history without its thought signature; calls that come
  from elsewhere carry none, so with `fill_signatures` (by default for Gemini 3) the first call
  of each model turn that has none gets Google's documented placeholder.
- `safety_threshold` sets all five harm categories (e.g. "BLOCK_NONE", SPEC §6.8).
"""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.gemini import FORMAT, PartReader, parts_from_ir
from oneapi.relay.protocols.gemini_schema import clean_schema

PLACEHOLDER_SIGNATURE = "skip_thought_signature_validator"
SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
)
EFFORT_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576, "max": 24576}
EFFORT_LEVELS = {
    "minimal": "minimal",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}

_KNOWN = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"})
_GENERATION = {
    "temperature": "temperature",
    "topP": "top_p",
    "topK": "top_k",
    "maxOutputTokens": "max_tokens",
    "seed": "seed",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
}
_GENERATION_KNOWN = frozenset(
    {
        *_GENERATION,
        "stopSequences",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "thinkingConfig",
    }
)
_JSON = "application/json"


def request_to_ir(body: dict[str, Any], *, model: str = "") -> ir.Request:
    if not isinstance(body, dict):
        raise ConversionError("the request body must be a JSON object")
    contents = f.objects(body, "contents")
    if "contents" not in body:
        raise ConversionError("contents is required")
    reader = PartReader(response=False)
    req = ir.Request(model=model)
    system = f.mapping(body, "systemInstruction")
    if system is not None:
        req.system = [p for p in reader.read(system.get("parts")) if isinstance(p, ir.TextPart)]
    for i, content in enumerate(contents):
        role = content.get("role") or "user"
        if role not in ("user", "model", "function"):
            raise ConversionError(f"contents[{i}].role must be user or model")
        ir_role = ir.Role.ASSISTANT if role == "model" else ir.Role.USER
        req.messages.append(ir.Message(ir_role, reader.read(content.get("parts"))))
    extra = f.extra_fields(body, _KNOWN)
    other_tools = _read_tools(f.objects(body, "tools"), req)
    if other_tools:
        extra["tools"] = other_tools
    tool_config = dict(f.mapping(body, "toolConfig") or {})
    calling = tool_config.pop("functionCallingConfig", None)
    req.tool_choice = _tool_choice(calling)
    if calling is not None and req.tool_choice is None:
        tool_config["functionCallingConfig"] = calling
    if tool_config:
        extra["toolConfig"] = tool_config
    generation = f.mapping(body, "generationConfig") or {}
    _read_generation(generation, req)
    rest = f.extra_fields(generation, _GENERATION_KNOWN)
    if generation.get("responseMimeType") not in (None, _JSON, "text/plain"):
        rest.update({k: generation[k] for k in ("responseMimeType", "responseSchema") if k in generation})
    if rest:
        extra["generationConfig"] = rest
    if extra:
        req.extra[FORMAT] = extra
    return req


def _read_tools(tools: list[dict[str, Any]], req: ir.Request) -> list[dict[str, Any]]:
    """Function declarations go to the IR; other tools are returned to be kept as they are."""
    others = []
    for tool in tools:
        declarations = f.objects(tool, "functionDeclarations")
        for declaration in declarations:
            if not isinstance(declaration.get("name"), str):
                raise ConversionError("functionDeclarations[].name is required")
            schema = declaration.get("parameters") or declaration.get("parametersJsonSchema")
            req.tools.append(
                ir.Tool(
                    name=declaration["name"],
                    description=declaration.get("description"),
                    parameters=schema if isinstance(schema, dict) else {},
                )
            )
        rest = {key: value for key, value in tool.items() if key != "functionDeclarations"}
        if rest:
            others.append(rest)
    return others


def _tool_choice(calling: Any) -> ir.ToolChoice | None:
    if not isinstance(calling, dict):
        return None
    mode = calling.get("mode")
    names = calling.get("allowedFunctionNames")
    if mode == "ANY" and isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
        return ir.ToolChoice(ir.ToolChoiceMode.NAMED, names[0])
    if mode == "ANY" and not names:
        return ir.ToolChoice(ir.ToolChoiceMode.REQUIRED)
    if mode in ("AUTO", "NONE") and not names:
        return ir.ToolChoice(ir.ToolChoiceMode(mode.lower()))
    return None


def _read_generation(generation: dict[str, Any], req: ir.Request) -> None:
    sampling = req.sampling
    for key, name in _GENERATION.items():
        value = (
            f.integer(generation, key)
            if name in ("top_k", "max_tokens", "seed")
            else f.number(generation, key)
        )
        setattr(sampling, name, value)
    stop = f.array(generation, "stopSequences") or []
    if not all(isinstance(item, str) for item in stop):
        raise ConversionError("stopSequences must be an array of strings")
    sampling.stop = list(stop)
    if generation.get("responseMimeType") == _JSON:
        schema = generation.get("responseSchema") or generation.get("responseJsonSchema")
        req.response_format = (
            ir.ResponseFormat("json_schema", schema=schema)
            if isinstance(schema, dict)
            else ir.ResponseFormat("json_object")
        )
    req.reasoning = _reasoning(f.mapping(generation, "thinkingConfig"))


def _reasoning(config: dict[str, Any] | None) -> ir.Reasoning | None:
    if not config:
        return None
    budget = f.integer(config, "thinkingBudget")
    if budget == 0:
        return ir.Reasoning(enabled=False)
    reasoning = ir.Reasoning(summary="auto" if config.get("includeThoughts") is True else None)
    if budget == -1:
        reasoning.enabled, reasoning.adaptive = True, True
    elif budget is not None:
        reasoning.enabled, reasoning.budget_tokens = True, budget
    level = config.get("thinkingLevel")
    if isinstance(level, str):
        reasoning.enabled, reasoning.effort = True, level.lower()
    return reasoning


# ---- IR → request ----------------------------------------------------------------------------


def request_from_ir(
    req: ir.Request,
    *,
    safety_threshold: str | None = None,
    system_instruction: bool = True,
    call_ids: bool = True,
    fill_signatures: bool | None = None,
    thinking_levels: bool | None = None,
) -> dict[str, Any]:
    """A `generateContent` body. `call_ids` False leaves function call/response ids out (for
    endpoints that refuse them); `fill_signatures` and `thinking_levels` default to whether the
    model is a Gemini 3 one."""
    gemini3 = req.model.lower().removeprefix("models/").startswith("gemini-3")
    names = {
        part.id: part.name
        for message in req.messages
        for part in message.content
        if isinstance(part, ir.ToolCallPart)
    }
    system = [part.text for part in req.system if part.text]
    contents: list[dict[str, Any]] = []
    for message in req.messages:
        if message.role is ir.Role.SYSTEM:
            system.extend(p.text for p in message.content if isinstance(p, ir.TextPart) and p.text)
            continue
        role = "model" if message.role is ir.Role.ASSISTANT else "user"
        parts = parts_from_ir(message.content, for_request=True, names=names, call_ids=call_ids)
        if fill_signatures if fill_signatures is not None else gemini3:
            _fill_signature(parts)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {}
    if system:
        body["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    body["contents"] = contents
    if not system_instruction:
        inline_system(body)
    extra = dict(req.extra.get(FORMAT, {}))
    if req.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(tool) for tool in req.tools]}]
    tool_config = _tool_config(req.tool_choice)
    _merge(body, "toolConfig", tool_config, extra.pop("toolConfig", None))
    generation = _generation(req, thinking_levels if thinking_levels is not None else gemini3)
    _merge(body, "generationConfig", generation, extra.pop("generationConfig", None))
    if safety_threshold is not None:
        body["safetySettings"] = [
            {"category": category, "threshold": safety_threshold} for category in SAFETY_CATEGORIES
        ]
    f.merge_extra(body, extra)
    return body


def inline_system(body: dict[str, Any]) -> bool:
    """For models without a system instruction: its parts become a first user turn, answered by
    a model turn "Okay" so the roles still alternate. True if the body changed."""
    system = body.pop("systemInstruction", None)
    if system is None:
        return False
    parts = system.get("parts") if isinstance(system, dict) else None
    contents = body.get("contents")
    if not isinstance(parts, list) or not parts or not isinstance(contents, list):
        return True
    contents[:0] = [{"role": "user", "parts": parts}, {"role": "model", "parts": [{"text": "Okay"}]}]
    return True


def _fill_signature(parts: list[dict[str, Any]]) -> None:
    calls = [part for part in parts if "functionCall" in part]
    if calls and not any("thoughtSignature" in call for call in calls):
        calls[0]["thoughtSignature"] = PLACEHOLDER_SIGNATURE


def _merge(body: dict[str, Any], key: str, ours: dict[str, Any], kept: Any) -> None:
    merged = {**kept, **ours} if isinstance(kept, dict) else ours
    if merged:
        body[key] = merged


def _declaration(tool: ir.Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    schema = clean_schema(tool.parameters)
    if schema.get("properties"):
        out["parameters"] = schema
    return out


def _tool_config(choice: ir.ToolChoice | None) -> dict[str, Any]:
    if choice is None:
        return {}
    if choice.mode is ir.ToolChoiceMode.NAMED:
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice.name or ""]}}
    mode = "ANY" if choice.mode is ir.ToolChoiceMode.REQUIRED else choice.mode.value.upper()
    return {"functionCallingConfig": {"mode": mode}}


def _generation(req: ir.Request, levels: bool) -> dict[str, Any]:
    sampling = req.sampling
    out: dict[str, Any] = {}
    for key, name in _GENERATION.items():
        value = getattr(sampling, name)
        if value is not None:
            out[key] = value
    if sampling.stop:
        out["stopSequences"] = list(sampling.stop)
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        out["responseMimeType"] = _JSON
        if fmt.type == "json_schema" and fmt.schema:
            out["responseSchema"] = clean_schema(fmt.schema)
    thinking = _thinking(req.reasoning, sampling.max_tokens, levels)
    if thinking:
        out["thinkingConfig"] = thinking
    return out


def _thinking(reasoning: ir.Reasoning | None, max_tokens: int | None, levels: bool) -> dict[str, Any]:
    if reasoning is None:
        return {}
    if reasoning.enabled is False or reasoning.effort == "none":
        return {"thinkingLevel": "low"} if levels else {"thinkingBudget": 0}
    out: dict[str, Any] = {}
    if reasoning.budget_tokens is not None:
        out["thinkingBudget"] = reasoning.budget_tokens
    elif reasoning.effort is not None and levels:
        out["thinkingLevel"] = EFFORT_LEVELS.get(reasoning.effort, "high")
    elif reasoning.effort is not None:
        budget = EFFORT_BUDGETS.get(reasoning.effort, EFFORT_BUDGETS["medium"])
        out["thinkingBudget"] = min(budget, max(max_tokens // 2, 512)) if max_tokens else budget
    elif (reasoning.adaptive or reasoning.enabled) and not levels:
        out["thinkingBudget"] = -1
    if out or reasoning.enabled or reasoning.summary is not None:
        out["includeThoughts"] = True
    return out
