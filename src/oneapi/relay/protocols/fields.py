"""Typed reads of optional request fields and the JSON helpers the format modules share.

A field of the wrong type is the caller's mistake: it raises `ConversionError` naming the field,
which the relay turns into a 400 instead of sending an upstream a body it would reject anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError


def number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConversionError(f"{key} must be a number")
    return value


def integer(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConversionError(f"{key} must be an integer")
    return value


def boolean(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ConversionError(f"{key} must be a boolean")
    return value


def string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConversionError(f"{key} must be a string")
    return value


def mapping(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConversionError(f"{key} must be an object")
    return value


def array(body: dict[str, Any], key: str) -> list[Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConversionError(f"{key} must be an array")
    return value


def objects(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """An optional array whose items must all be objects."""
    items = array(body, key) or []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConversionError(f"{key}[{i}] must be an object")
    return items


def dumps(value: Any) -> str:
    """Compact JSON text (how OpenAI writes tool-call arguments)."""
    return orjson.dumps(value).decode()


def loads_object(text: str) -> dict[str, Any]:
    """Tool-call arguments as an object; empty or invalid JSON gives {} (a model may emit either),
    and a JSON value that is not an object is wrapped as {"value": …}."""
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def extra_fields(body: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in known}


def merge_extra(body: dict[str, Any], extra: dict[str, Any]) -> None:
    """Put back a format's unmodelled fields; tools the IR does not model join the converted ones."""
    for key, value in extra.items():
        if key == "tools" and isinstance(value, list):
            body["tools"] = [*body.get("tools", []), *value]
        elif key not in body:
            body[key] = value


def sub(data: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of a response or stream payload, {} when absent or not an object."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def content_parts(content: Any, read_part: Callable[[Any], ir.Part]) -> list[ir.Part]:
    """A message's `content` in the OpenAI formats: a string, or an array of typed parts that
    `read_part` (the format's own part reader) turns into IR parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [ir.TextPart(content)] if content else []
    if not isinstance(content, list):
        raise ConversionError("message content must be a string or an array")
    return [read_part(item) for item in content]


def read_openai_tools(
    body: dict[str, Any],
    req: ir.Request,
    extra: dict[str, Any],
    read_tools: Callable[[list[dict[str, Any]], ir.Request], list[dict[str, Any]]],
    read_choice: Callable[[Any], ir.ToolChoice | None],
) -> None:
    """`tools`, `tool_choice` and `parallel_tool_calls` of a Chat or Responses body into `req`,
    read by the format's own readers; tools and a choice they cannot map stay in `extra`."""
    other_tools = read_tools(objects(body, "tools"), req)
    if other_tools:
        extra["tools"] = other_tools
    if "tool_choice" in body:
        req.tool_choice = read_choice(body["tool_choice"])
        if req.tool_choice is None:
            extra["tool_choice"] = body["tool_choice"]
    req.parallel_tool_calls = boolean(body, "parallel_tool_calls")
