"""OpenAI Responses requests ⇄ IR (SPEC §6.6, §6.7).

Reading:
- `instructions` and the developer/system messages that open `input` are the system prompt;
  later ones stay in place as system messages. A string `input` is one user message.
- Consecutive output items (reasoning, assistant messages, function calls) form one assistant
  message; consecutive `function_call_output` items one user message of tool results (a string
  output, or an array of input parts). An output whose call is not in `input` (it was in the
  response `previous_response_id` names) is a plain user message, as SPEC §6.7 says: no other
  format accepts a result without its call. Other items (item references, built-in tool calls) are
  left out: nothing but the upstream that made them could read them.
- Function tools, `tool_choice` (auto/none/required/function), `text.format`, `reasoning`
  (effort, summary), `max_output_tokens`, sampling, `parallel_tool_calls`, `user`, `metadata`.
  Built-in tools, other tool choices, `text.verbosity`, `store`, `include`,
  `previous_response_id`, … stay in `extra["openai_responses"]`.

Writing:
- The system prompt is `instructions` (parts joined by a blank line); system messages become
  developer messages. Tool results come first in their turn, as in Chat.
- Reasoning goes back only with its `encrypted_content` (the stateless form; the item's id is
  not sent, as an id makes OpenAI look for a stored item), and function calls without their `fc_`
  ids for the same reason.
- `user` and call ids longer than OpenAI's 64 characters are written as their digests (a call and
  its output get the same one).
- A tool's `strict` is written as false when unknown: Responses would otherwise make it strict,
  which most Chat-style schemas fail. Sampling the format lacks (top_k, stop, seed, penalties) is
  dropped; an effort comes from a thinking budget when only that is known.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.openai_chat import bounded
from oneapi.relay.protocols.openai_responses import (
    FORMAT,
    call_item,
    content_to_parts,
    output_to_parts,
    parts_to_content,
    reasoning_item,
)

_KNOWN = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text",
        "reasoning", "max_output_tokens", "temperature", "top_p", "stream", "user", "metadata",
    }
)  # fmt: skip
_OUTPUT_ITEMS = ("reasoning", "function_call")


def request_to_ir(body: dict[str, Any]) -> ir.Request:
    if not isinstance(body, dict):
        raise ConversionError("the request body must be a JSON object")
    req = ir.Request(model=f.string(body, "model") or "")
    instructions = f.string(body, "instructions")
    if instructions:
        req.system.append(ir.TextPart(instructions))
    value = body.get("input")
    if isinstance(value, str):
        req.messages.append(ir.Message(ir.Role.USER, content_to_parts(value)))
    elif isinstance(value, list):
        _read_items(value, req)
    elif value is not None:
        raise ConversionError("input must be a string or an array")
    req.sampling = ir.Sampling(
        max_tokens=f.integer(body, "max_output_tokens"),
        temperature=f.number(body, "temperature"),
        top_p=f.number(body, "top_p"),
    )
    extra = f.extra_fields(body, _KNOWN)
    f.read_openai_tools(body, req, extra, _read_tools, _tool_choice)
    text = dict(f.mapping(body, "text") or {})
    req.response_format = _response_format(text.pop("format", None))
    if text:
        extra["text"] = text
    req.reasoning = _reasoning(f.mapping(body, "reasoning"))
    req.stream = f.boolean(body, "stream") or False
    req.user = f.string(body, "user")
    metadata = f.mapping(body, "metadata") or {}
    req.metadata = {key: value for key, value in metadata.items() if isinstance(value, str)}
    if extra:
        req.extra[FORMAT] = extra
    return req


def _read_items(items: list[Any], req: ir.Request) -> None:
    leading = not req.messages
    run: list[dict[str, Any]] = []  # consecutive output items, one assistant turn
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConversionError(f"input[{i}] must be an object")
        kind = item.get("type")
        role = item.get("role")
        if kind in _OUTPUT_ITEMS or (kind in ("message", None) and role == "assistant"):
            run.append(item)
            leading = False
            continue
        _flush(run, req)
        if kind == "function_call_output":
            _result(item, req)
        elif kind in ("message", None) and role in ("system", "developer"):
            parts = [p for p in content_to_parts(item.get("content")) if isinstance(p, ir.TextPart)]
            if leading:
                req.system.extend(parts)
            else:
                req.messages.append(ir.Message(ir.Role.SYSTEM, list(parts)))
            continue
        elif kind in ("message", None) and role == "user":
            req.messages.append(ir.Message(ir.Role.USER, content_to_parts(item.get("content"))))
        elif kind in ("message", None):
            raise ConversionError(f"input[{i}].role {role!r} is not supported")
        else:
            continue
        leading = False
    _flush(run, req)


def _flush(run: list[dict[str, Any]], req: ir.Request) -> None:
    if run:
        req.messages.append(ir.Message(ir.Role.ASSISTANT, output_to_parts(run)))
        run.clear()


def _result(item: dict[str, Any], req: ir.Request) -> None:
    output = item.get("output")
    if isinstance(output, list):
        content = content_to_parts(output)
    else:
        content = content_to_parts(output if isinstance(output, str) else f.dumps(output))
    call_id = str(item.get("call_id") or "")
    if not any(isinstance(p, ir.ToolCallPart) and p.id == call_id for m in req.messages for p in m.content):
        if content:  # its call is in an earlier, stored response: a tool result would be an orphan
            req.messages.append(ir.Message(ir.Role.USER, content))
        return
    result = ir.ToolResultPart(call_id=call_id, content=content)
    last = req.messages[-1] if req.messages else None
    if last and last.role is ir.Role.USER and last.content and _all_results(last.content):
        last.content.append(result)
    else:
        req.messages.append(ir.Message(ir.Role.USER, [result]))


def _all_results(parts: list[ir.Part]) -> bool:
    return all(isinstance(part, ir.ToolResultPart) for part in parts)


def _read_tools(tools: list[dict[str, Any]], req: ir.Request) -> list[dict[str, Any]]:
    """Function tools go to the IR; built-in tools (web search, file search, MCP, …) are returned."""
    others = []
    for tool in tools:
        if tool.get("type") != "function":
            others.append(tool)
            continue
        if not isinstance(tool.get("name"), str):
            raise ConversionError("tools[].name is required")
        parameters = tool.get("parameters")
        strict = tool.get("strict")
        req.tools.append(
            ir.Tool(
                name=tool["name"],
                description=tool.get("description"),
                parameters=parameters if isinstance(parameters, dict) else {},
                strict=strict if isinstance(strict, bool) else None,
            )
        )
    return others


def _tool_choice(value: Any) -> ir.ToolChoice | None:
    if value in ("auto", "none", "required"):
        return ir.ToolChoice(ir.ToolChoiceMode(value))
    if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("name"), str):
        return ir.ToolChoice(ir.ToolChoiceMode.NAMED, value["name"])
    return None


def _response_format(value: Any) -> ir.ResponseFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConversionError("text.format must be an object")
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return ir.ResponseFormat(kind)
    if kind != "json_schema":
        raise ConversionError("text.format.type must be text, json_object or json_schema")
    schema = value.get("schema")
    return ir.ResponseFormat(
        "json_schema",
        name=value.get("name"),
        description=value.get("description"),
        schema=schema if isinstance(schema, dict) else None,
        strict=value.get("strict"),
    )


def _reasoning(value: dict[str, Any] | None) -> ir.Reasoning | None:
    if value is None:
        return None
    effort = f.string(value, "effort")
    summary = f.string(value, "summary") or f.string(value, "generate_summary")
    if effort is None and summary is None:
        return None
    return ir.Reasoning(effort=effort, enabled=None if effort is None else effort != "none", summary=summary)


# ---- IR → request ----------------------------------------------------------------------------


def request_from_ir(req: ir.Request) -> dict[str, Any]:
    body: dict[str, Any] = {"model": req.model}
    instructions = "\n\n".join(part.text for part in req.system if part.text)
    if instructions:
        body["instructions"] = instructions
    items: list[dict[str, Any]] = []
    for message in req.messages:
        items.extend(_message_items(message))
    body["input"] = items
    if req.stream:
        body["stream"] = True
    sampling = req.sampling
    values = {
        "max_output_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
    }
    body.update({key: value for key, value in values.items() if value is not None})
    if req.tools:
        body["tools"] = [_tool_out(tool) for tool in req.tools]
    if req.tool_choice is not None:
        body["tool_choice"] = _tool_choice_out(req.tool_choice)
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    extra = dict(req.extra.get(FORMAT, {}))
    text = extra.pop("text", None)
    text = dict(text) if isinstance(text, dict) else {}
    if req.response_format is not None:
        text["format"] = _format_out(req.response_format)
    if text:
        body["text"] = text
    reasoning = _reasoning_out(req.reasoning)
    if reasoning:
        body["reasoning"] = reasoning
    if req.user is not None:
        body["user"] = bounded(req.user)
    if req.metadata:
        body["metadata"] = dict(req.metadata)
    f.merge_extra(body, extra)
    return body


def _message_items(message: ir.Message) -> list[dict[str, Any]]:
    if message.role is ir.Role.SYSTEM:
        content = parts_to_content(
            [p for p in message.content if isinstance(p, ir.TextPart)], assistant=False
        )
        return [{"type": "message", "role": "developer", "content": content}]
    if message.role is ir.Role.ASSISTANT:
        return _assistant_items(message.content)
    items: list[dict[str, Any]] = []
    rest: list[ir.Part] = []
    for part in message.content:
        if isinstance(part, ir.ToolResultPart):
            call_id = bounded(part.call_id)
            items.append({"type": "function_call_output", "call_id": call_id, "output": _output(part)})
        else:
            rest.append(part)
    content = parts_to_content(rest, assistant=False)
    if content or not items:
        items.append({"type": "message", "role": "user", "content": content})
    return items


def _output(result: ir.ToolResultPart) -> str | list[dict[str, Any]]:
    """A result's text, or its parts when it holds more than text."""
    if all(isinstance(part, ir.TextPart) for part in result.content):
        return result.text()
    return parts_to_content(result.content, assistant=False)


def _assistant_items(parts: list[ir.Part]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ir.ThinkingPart) and part.signature is not None:
            items.append(reasoning_item(part.text, part.signature, id=None))
        elif isinstance(part, ir.TextPart):
            if items and items[-1]["type"] == "message":
                items[-1]["content"].extend(parts_to_content([part], assistant=True))
            else:
                content = parts_to_content([part], assistant=True)
                items.append({"type": "message", "role": "assistant", "content": content})
        elif isinstance(part, ir.ToolCallPart):
            items.append(call_item(replace(part, id=bounded(part.id)), id=None, status=None))
    return items


def _tool_out(tool: ir.Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["parameters"] = tool.parameters or {"type": "object", "properties": {}}
    out["strict"] = bool(tool.strict)
    return out


def _tool_choice_out(choice: ir.ToolChoice) -> str | dict[str, Any]:
    if choice.mode is ir.ToolChoiceMode.NAMED:
        return {"type": "function", "name": choice.name or ""}
    return choice.mode.value


def _format_out(fmt: ir.ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    out: dict[str, Any] = {"type": "json_schema", "name": fmt.name or "response"}
    if fmt.description is not None:
        out["description"] = fmt.description
    out["schema"] = fmt.schema if fmt.schema is not None else {"type": "object"}
    if fmt.strict is not None:
        out["strict"] = fmt.strict
    return out


def _reasoning_out(reasoning: ir.Reasoning | None) -> dict[str, Any]:
    if reasoning is None:
        return {}
    out: dict[str, Any] = {}
    if reasoning.effort is not None:
        out["effort"] = reasoning.effort
    elif reasoning.enabled is not False and reasoning.budget_tokens is not None:
        out["effort"] = ir.effort_for_budget(reasoning.budget_tokens)
    elif reasoning.enabled:
        out["effort"] = "medium"
    if reasoning.summary is not None:
        out["summary"] = reasoning.summary
    return out
