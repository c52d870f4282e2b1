"""Anthropic Messages requests ⇄ IR (SPEC §6.4, §6.5).

Reading: `system` (string or text blocks), messages of blocks, custom tools (`input_schema`),
`tool_choice` auto/any/tool/none with `disable_parallel_tool_use`, `thinking`
enabled/adaptive/disabled, `output_config` `format` (structured output) and `effort`, and
`metadata.user_id` as the IR user. Other fields and server tools stay in `extra`.

Writing:
- `max_tokens` is required by Anthropic: the IR's, else `default_max_tokens`.
- System messages in the middle of the conversation join the top-level `system`; messages left
  with no block (e.g. only reasoning without a signature) are left out, and consecutive messages
  of one role are merged (Chat's tool messages followed by a user message become one turn).
- Thinking: disabled / adaptive / an explicit budget as given; reasoning asked for by effort only
  gets a budget from `budget_for_effort`, raising `max_tokens` when the budget would not fit under
  it, and is not asked for when `tool_choice` forces a tool (Anthropic refuses that pair). With
  thinking on, temperature/top_p/top_k are dropped; `top_p` is also dropped when
  `temperature` is set (newer Claude models reject both together).
- `output_config.effort` is written when the effort is one Anthropic knows and did not only serve
  to size a derived thinking budget. `json_object` has no Anthropic equivalent and is dropped.
"""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.anthropic_messages import FORMAT, blocks_to_parts, parts_to_blocks

DEFAULT_MAX_TOKENS = 4096
ANTHROPIC_EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})

_KNOWN = frozenset(
    {
        "model", "messages", "system", "max_tokens", "stop_sequences", "temperature", "top_p", "top_k",
        "stream", "tools", "tool_choice", "thinking", "output_config", "output_format", "metadata",
    }
)  # fmt: skip


def request_to_ir(body: dict[str, Any]) -> ir.Request:
    if not isinstance(body, dict):
        raise ConversionError("the request body must be a JSON object")
    messages = f.array(body, "messages")
    if messages is None:
        raise ConversionError("messages: Field required")
    req = ir.Request(model=f.string(body, "model") or "", system=_system(body.get("system")))
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ConversionError(f"messages.{i}: must be an object")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise ConversionError(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        req.messages.append(ir.Message(ir.Role(role), blocks_to_parts(message.get("content"))))
    stop = f.array(body, "stop_sequences") or []
    if not all(isinstance(item, str) for item in stop):
        raise ConversionError("stop_sequences must be an array of strings")
    req.sampling = ir.Sampling(
        max_tokens=f.integer(body, "max_tokens"),
        temperature=f.number(body, "temperature"),
        top_p=f.number(body, "top_p"),
        top_k=f.integer(body, "top_k"),
        stop=list(stop),
    )
    req.stream = f.boolean(body, "stream") or False
    extra = f.extra_fields(body, _KNOWN)
    server_tools = _read_tools(f.objects(body, "tools"), req)
    if server_tools:
        extra["tools"] = server_tools
    _read_tool_choice(f.mapping(body, "tool_choice"), req)
    output = f.mapping(body, "output_config") or {}
    req.response_format = _format(output.get("format") or body.get("output_format"))
    req.reasoning = _reasoning(f.mapping(body, "thinking"), output.get("effort"))
    user = (f.mapping(body, "metadata") or {}).get("user_id")
    req.user = user if isinstance(user, str) else None
    if extra:
        req.extra[FORMAT] = extra
    return req


def _system(value: Any) -> list[ir.TextPart]:
    if value is None:
        return []
    parts = blocks_to_parts(value)
    if not all(isinstance(part, ir.TextPart) for part in parts):
        raise ConversionError("system: only text blocks are allowed")
    return [part for part in parts if isinstance(part, ir.TextPart)]


def _read_tools(tools: list[dict[str, Any]], req: ir.Request) -> list[dict[str, Any]]:
    """Custom tools go to the IR; server tools (web search, code execution, …) are returned."""
    others = []
    for tool in tools:
        if tool.get("type") not in (None, "custom") or "input_schema" not in tool:
            others.append(tool)
            continue
        if not isinstance(tool.get("name"), str):
            raise ConversionError("tools: name is required")
        schema = tool.get("input_schema")
        req.tools.append(
            ir.Tool(
                name=tool["name"],
                description=tool.get("description"),
                parameters=schema if isinstance(schema, dict) else {},
                strict=tool.get("strict"),
                cache_control=tool.get("cache_control"),
            )
        )
    return others


def _read_tool_choice(choice: dict[str, Any] | None, req: ir.Request) -> None:
    if choice is None:
        return
    kind = choice.get("type")
    if kind == "auto":
        req.tool_choice = ir.ToolChoice(ir.ToolChoiceMode.AUTO)
    elif kind == "any":
        req.tool_choice = ir.ToolChoice(ir.ToolChoiceMode.REQUIRED)
    elif kind == "none":
        req.tool_choice = ir.ToolChoice(ir.ToolChoiceMode.NONE)
    elif kind == "tool" and isinstance(choice.get("name"), str):
        req.tool_choice = ir.ToolChoice(ir.ToolChoiceMode.NAMED, choice["name"])
    else:
        raise ConversionError("tool_choice.type must be auto, any, tool or none")
    disable = choice.get("disable_parallel_tool_use")
    if isinstance(disable, bool):
        req.parallel_tool_calls = not disable


def _format(value: Any) -> ir.ResponseFormat | None:
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        return None
    schema = value.get("schema")
    return ir.ResponseFormat("json_schema", schema=schema if isinstance(schema, dict) else None)


def _reasoning(thinking: dict[str, Any] | None, effort: Any) -> ir.Reasoning | None:
    reasoning = ir.Reasoning(effort=effort if isinstance(effort, str) else None)
    kind = (thinking or {}).get("type")
    if kind == "enabled":
        budget = (thinking or {}).get("budget_tokens")
        reasoning.enabled = True
        reasoning.budget_tokens = budget if isinstance(budget, int) else None
    elif kind == "adaptive":
        reasoning.enabled, reasoning.adaptive = True, True
    elif kind == "disabled":
        reasoning.enabled = False
    elif reasoning.effort is None:
        return None
    return reasoning


# ---- IR → request ----------------------------------------------------------------------------


def request_from_ir(req: ir.Request, *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    max_tokens = req.sampling.max_tokens or default_max_tokens
    forced = req.tool_choice is not None and req.tool_choice.mode in (
        ir.ToolChoiceMode.REQUIRED,
        ir.ToolChoiceMode.NAMED,
    )
    thinking, max_tokens = _thinking_out(req.reasoning, max_tokens, forced)
    body: dict[str, Any] = {"model": req.model, "max_tokens": max_tokens}
    system = list(req.system)
    messages: list[dict[str, Any]] = []
    for message in req.messages:
        if message.role is ir.Role.SYSTEM:
            system.extend(part for part in message.content if isinstance(part, ir.TextPart))
            continue
        blocks = parts_to_blocks(message.content, for_request=True)
        if blocks and messages and messages[-1]["role"] == message.role.value:
            messages[-1]["blocks"].extend(blocks)
        elif blocks:
            messages.append({"role": message.role.value, "blocks": blocks})
    system_blocks = parts_to_blocks(list(system), for_request=True)
    if system_blocks:
        body["system"] = _compact(system_blocks)
    body["messages"] = [{"role": m["role"], "content": _compact(m["blocks"])} for m in messages]
    _write_sampling(req.sampling, thinking is not None and thinking["type"] != "disabled", body)
    if req.stream:
        body["stream"] = True
    if req.tools:
        body["tools"] = [_tool_out(tool) for tool in req.tools]
    choice = _tool_choice_out(req.tool_choice, req.parallel_tool_calls)
    if choice is not None:
        body["tool_choice"] = choice
    if thinking is not None:
        body["thinking"] = thinking
    output = _output_config(req)
    if output:
        body["output_config"] = output
    if req.user is not None:
        body["metadata"] = {"user_id": req.user}
    f.merge_extra(body, req.extra.get(FORMAT, {}))
    return body


def _compact(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A lone plain text block is written as a string."""
    if len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
        text: str = blocks[0]["text"]
        return text
    return blocks


def _thinking_out(
    reasoning: ir.Reasoning | None, max_tokens: int, forced_tool: bool
) -> tuple[dict[str, Any] | None, int]:
    if reasoning is None:
        return None, max_tokens
    if reasoning.enabled is False:
        return {"type": "disabled"}, max_tokens
    if reasoning.adaptive:
        return {"type": "adaptive"}, max_tokens
    if reasoning.budget_tokens is not None:
        return {"type": "enabled", "budget_tokens": reasoning.budget_tokens}, max_tokens
    if not reasoning.enabled or forced_tool:  # Anthropic refuses thinking with a forced tool
        return None, max_tokens
    budget = ir.budget_for_effort(reasoning.effort, max_tokens)
    if budget >= max_tokens:
        max_tokens += budget
    return {"type": "enabled", "budget_tokens": budget}, max_tokens


def _write_sampling(sampling: ir.Sampling, thinking: bool, body: dict[str, Any]) -> None:
    if not thinking:
        if sampling.temperature is not None:
            body["temperature"] = sampling.temperature
        elif sampling.top_p is not None:
            body["top_p"] = sampling.top_p
        if sampling.top_k is not None:
            body["top_k"] = sampling.top_k
    if sampling.stop:
        body["stop_sequences"] = list(sampling.stop)


def _tool_out(tool: ir.Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["input_schema"] = tool.parameters or {"type": "object", "properties": {}}
    if tool.strict is not None:
        out["strict"] = tool.strict
    if tool.cache_control is not None:
        out["cache_control"] = tool.cache_control
    return out


def _tool_choice_out(choice: ir.ToolChoice | None, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None:
        out: dict[str, Any] = {"type": "auto"}
    elif choice.mode is ir.ToolChoiceMode.NAMED:
        out = {"type": "tool", "name": choice.name or ""}
    elif choice.mode is ir.ToolChoiceMode.REQUIRED:
        out = {"type": "any"}
    else:
        out = {"type": choice.mode.value}
    if parallel is not None and out["type"] != "none":
        out["disable_parallel_tool_use"] = not parallel
    elif choice is None:
        return None
    return out


def _output_config(req: ir.Request) -> dict[str, Any]:
    output: dict[str, Any] = {}
    reasoning = req.reasoning
    if (
        reasoning is not None
        and reasoning.effort in ANTHROPIC_EFFORTS
        and (reasoning.adaptive or reasoning.budget_tokens is not None or reasoning.enabled is None)
    ):
        output["effort"] = reasoning.effort
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema":
        output["format"] = {"type": "json_schema", "schema": fmt.schema or {"type": "object"}}
    return output
