"""OpenAI Chat Completions requests ⇄ IR.

Reading:
- Leading system/developer messages become the IR system prompt; later ones stay in place as
  system messages. Consecutive `tool` messages become one user message of tool results.
- Reasoning settings come from `reasoning_effort`, a `thinking` object (`{type, budget_tokens}`)
  or OpenRouter's `reasoning` object; an effort other than "none" means thinking is on.
- Fields the IR does not model (n, logprobs, stream_options, …) and tools other than functions
  are kept in `extra["openai_chat"]`.

Writing:
- Tool results become `tool` messages placed first; images inside tool results (which a tool
  message cannot carry) follow in a user message. Earlier assistant reasoning is written to
  `reasoning_field` (None leaves it out).
- The token cap is written as `max_tokens` (the OpenAI-family normaliser renames it where
  needed); a thinking budget without an effort becomes the nearest `reasoning_effort`. A `user`
  longer than OpenAI accepts is written as its digest (`openai_chat.bounded`).
"""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.openai_chat import (
    FORMAT,
    assistant_out,
    assistant_parts,
    bounded,
    content_to_parts,
    parts_to_content,
)

_KNOWN = frozenset(
    {
        "model", "messages", "stream", "max_tokens", "max_completion_tokens", "temperature", "top_p",
        "top_k", "stop", "seed", "presence_penalty", "frequency_penalty", "tools", "tool_choice",
        "parallel_tool_calls", "response_format", "reasoning_effort", "thinking", "reasoning", "user",
        "metadata",
    }
)  # fmt: skip


def request_to_ir(body: dict[str, Any]) -> ir.Request:
    if not isinstance(body, dict):
        raise ConversionError("the request body must be a JSON object")
    messages = f.array(body, "messages")
    if messages is None:
        raise ConversionError("messages is required")
    req = ir.Request(model=f.string(body, "model") or "")
    _read_messages(messages, req)
    max_tokens = f.integer(body, "max_completion_tokens")
    req.sampling = ir.Sampling(
        max_tokens=max_tokens if max_tokens is not None else f.integer(body, "max_tokens"),
        temperature=f.number(body, "temperature"),
        top_p=f.number(body, "top_p"),
        top_k=f.integer(body, "top_k"),
        stop=_stop(body.get("stop")),
        seed=f.integer(body, "seed"),
        presence_penalty=f.number(body, "presence_penalty"),
        frequency_penalty=f.number(body, "frequency_penalty"),
    )
    extra = f.extra_fields(body, _KNOWN)
    f.read_openai_tools(body, req, extra, _read_tools, _tool_choice)
    req.response_format = _response_format(f.mapping(body, "response_format"))
    req.reasoning = _reasoning(body)
    req.stream = f.boolean(body, "stream") or False
    req.user = f.string(body, "user")
    metadata = f.mapping(body, "metadata") or {}
    req.metadata = {key: value for key, value in metadata.items() if isinstance(value, str)}
    if extra:
        req.extra[FORMAT] = extra
    return req


def _read_messages(messages: list[Any], req: ir.Request) -> None:
    leading = True
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ConversionError(f"messages[{i}] must be an object")
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            parts = [p for p in content_to_parts(content) if isinstance(p, ir.TextPart)]
            if leading:
                req.system.extend(parts)
            else:
                req.messages.append(ir.Message(ir.Role.SYSTEM, list(parts)))
            continue
        leading = False
        if role == "user":
            req.messages.append(ir.Message(ir.Role.USER, content_to_parts(content)))
        elif role == "assistant":
            req.messages.append(ir.Message(ir.Role.ASSISTANT, assistant_parts(message)))
        elif role == "tool":
            result = ir.ToolResultPart(
                call_id=str(message.get("tool_call_id") or ""), content=content_to_parts(content)
            )
            last = req.messages[-1] if req.messages else None
            if last and last.role is ir.Role.USER and last.content and _all_results(last.content):
                last.content.append(result)
            else:
                req.messages.append(ir.Message(ir.Role.USER, [result]))
        else:
            raise ConversionError(f"messages[{i}].role {role!r} is not supported")


def _all_results(parts: list[ir.Part]) -> bool:
    return all(isinstance(part, ir.ToolResultPart) for part in parts)


def _stop(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConversionError("stop must be a string or an array of strings")


def _read_tools(tools: list[dict[str, Any]], req: ir.Request) -> list[dict[str, Any]]:
    """Function tools go to the IR; the others are returned to be kept as they are."""
    others = []
    for tool in tools:
        function = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(function, dict):
            others.append(tool)
            continue
        if not isinstance(function.get("name"), str):
            raise ConversionError("tools[].function.name is required")
        parameters = function.get("parameters")
        req.tools.append(
            ir.Tool(
                name=function["name"],
                description=function.get("description"),
                parameters=parameters if isinstance(parameters, dict) else {},
                strict=function.get("strict"),
            )
        )
    return others


def _tool_choice(value: Any) -> ir.ToolChoice | None:
    if value in ("auto", "none", "required"):
        return ir.ToolChoice(ir.ToolChoiceMode(value))
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return ir.ToolChoice(ir.ToolChoiceMode.NAMED, function["name"])
    return None


def _response_format(value: dict[str, Any] | None) -> ir.ResponseFormat | None:
    if value is None:
        return None
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return ir.ResponseFormat(kind)
    if kind != "json_schema":
        raise ConversionError("response_format.type must be text, json_object or json_schema")
    spec = f.mapping(value, "json_schema") or {}
    schema = spec.get("schema")
    return ir.ResponseFormat(
        "json_schema",
        name=spec.get("name"),
        description=spec.get("description"),
        schema=schema if isinstance(schema, dict) else None,
        strict=spec.get("strict"),
    )


def _reasoning(body: dict[str, Any]) -> ir.Reasoning | None:
    effort = f.string(body, "reasoning_effort")
    thinking = f.mapping(body, "thinking") or {}
    openrouter = f.sub(body, "reasoning")
    effort = effort or openrouter.get("effort")
    budget = thinking.get("budget_tokens") or openrouter.get("max_tokens")
    enabled = openrouter.get("enabled")
    if thinking.get("type") in ("enabled", "adaptive"):
        enabled = True
    elif thinking.get("type") == "disabled":
        enabled = False
    if enabled is None and (effort is not None or budget is not None):
        enabled = effort != "none"
    if effort is None and budget is None and enabled is None:
        return None
    return ir.Reasoning(
        effort=effort,
        budget_tokens=budget if isinstance(budget, int) else None,
        enabled=enabled if isinstance(enabled, bool) else None,
        adaptive=thinking.get("type") == "adaptive",
    )


def request_from_ir(req: ir.Request, *, reasoning_field: str | None = "reasoning_content") -> dict[str, Any]:
    """A Chat Completions body. `reasoning_field` names the assistant-message field that carries
    earlier reasoning back (None leaves it out)."""
    messages: list[dict[str, Any]] = []
    if req.system:
        messages.append({"role": "system", "content": parts_to_content(list(req.system))})
    for message in req.messages:
        messages.extend(_message_out(message, reasoning_field))
    body: dict[str, Any] = {"model": req.model, "messages": messages}
    if req.stream:
        body["stream"] = True
    _write_sampling(req.sampling, body)
    if req.tools:
        body["tools"] = [_tool_out(tool) for tool in req.tools]
    if req.tool_choice is not None:
        body["tool_choice"] = _tool_choice_out(req.tool_choice)
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.response_format is not None:
        body["response_format"] = _response_format_out(req.response_format)
    effort = _effort_out(req.reasoning)
    if effort is not None:
        body["reasoning_effort"] = effort
    if req.user is not None:
        body["user"] = bounded(req.user)
    if req.metadata:
        body["metadata"] = dict(req.metadata)
    f.merge_extra(body, req.extra.get(FORMAT, {}))
    return body


def _message_out(message: ir.Message, reasoning_field: str | None) -> list[dict[str, Any]]:
    if message.role is ir.Role.SYSTEM:
        texts = [part for part in message.content if isinstance(part, ir.TextPart)]
        return [{"role": "system", "content": parts_to_content(list(texts))}]
    if message.role is ir.Role.ASSISTANT:
        return [assistant_out(message.content, reasoning_field)]
    out: list[dict[str, Any]] = []
    rest: list[ir.Part] = []
    moved: list[ir.Part] = []
    for part in message.content:
        if isinstance(part, ir.ToolResultPart):
            out.append({"role": "tool", "tool_call_id": part.call_id, "content": part.text()})
            moved.extend(p for p in part.content if isinstance(p, ir.ImagePart))
        else:
            rest.append(part)
    if rest or moved or not out:
        out.append({"role": "user", "content": parts_to_content(moved + rest)})
    return out


def _write_sampling(sampling: ir.Sampling, body: dict[str, Any]) -> None:
    values = {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "seed": sampling.seed,
        "presence_penalty": sampling.presence_penalty,
        "frequency_penalty": sampling.frequency_penalty,
    }
    body.update({key: value for key, value in values.items() if value is not None})
    if sampling.stop:
        body["stop"] = list(sampling.stop)


def _tool_out(tool: ir.Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    function["parameters"] = tool.parameters
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _tool_choice_out(choice: ir.ToolChoice) -> str | dict[str, Any]:
    if choice.mode is ir.ToolChoiceMode.NAMED:
        return {"type": "function", "function": {"name": choice.name or ""}}
    return choice.mode.value


def _response_format_out(fmt: ir.ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    spec: dict[str, Any] = {"name": fmt.name or "response"}
    if fmt.description is not None:
        spec["description"] = fmt.description
    spec["schema"] = fmt.schema if fmt.schema is not None else {"type": "object"}
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def _effort_out(reasoning: ir.Reasoning | None) -> str | None:
    if reasoning is None:
        return None
    if reasoning.effort is not None:
        return reasoning.effort
    if reasoning.enabled is False:
        return None
    if reasoning.budget_tokens is not None:
        return ir.effort_for_budget(reasoning.budget_tokens)
    return "medium" if reasoning.enabled else None
