"""Read and validate JSON request bodies with the messages One API gives, never a traceback.

Models are strict (a string is not an integer) and ignore unknown fields, as Go's decoder does.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, ValidationError

from oneapi.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base of every request body: strict types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line: which field is wrong and what it should be."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    kind = first["type"]
    if kind == "missing":
        return f"field '{where}' is required"
    expected = {
        "int_type": "an integer",
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "string_type": "a string",
        "bool_type": "a boolean",
        "float_type": "a number",
        "dict_type": "an object",
        "list_type": "an array",
        "model_type": "an object",
    }.get(kind)
    given = type(first.get("input")).__name__ if "input" in first else "nothing"
    given = {
        "str": "string",
        "int": "integer",
        "float": "number",
        "bool": "boolean",
        "dict": "object",
        "list": "array",
        "NoneType": "null",
    }.get(given, given)
    if expected:
        return f"field '{where}' must be {expected}, not {given}"
    return f"field '{where}': {first['msg']}"


async def read_json(request: Request, invalid: str | None = None) -> Any:
    """The decoded body; malformed JSON raises ApiError(`invalid` or the decoder's message)."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if invalid is not None:
            raise ApiError(invalid) from None
        reason = "unexpected EOF" if not raw.strip() else f"invalid JSON: {exc}"
        raise ApiError(reason) from None


def validate(model: type[M], data: Any, invalid: str | None = None) -> M:
    """`data` as `model`; a wrong type raises ApiError(`invalid` or a message naming the field)."""
    if not isinstance(data, dict):
        raise ApiError(invalid or "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(invalid or describe_validation_error(exc)) from None


async def parse_body(request: Request, model: type[M], invalid: str | None = None) -> M:
    """Read the JSON body of `request` into `model` (see `read_json` and `validate`)."""
    return validate(model, await read_json(request, invalid), invalid)
