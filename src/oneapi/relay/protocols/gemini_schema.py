"""JSON schemas rewritten into the OpenAPI subset Gemini's `Schema` accepts.

Gemini refuses a whole request over one unknown schema key (`additionalProperties`, `$schema`,
`strict`, …), a `format` it does not know for the type (strings take only `enum` and
`date-time`), or an object with an empty `properties` map. `clean_schema` keeps the keys Gemini
knows and rewrites the common JSON-schema idioms it does not: local `$ref`s are inlined (a
recursive one becomes a plain object), `const` becomes a one-value `enum`, `oneOf` becomes
`anyOf`, a single `allOf` is merged, a type list with "null" (or a null in `enum`) becomes
`nullable`, an `enum` of anything but strings is dropped, and `required` keeps only names that
are properties.
"""

from __future__ import annotations

from typing import Any

_KEYS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
        "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
        "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
    }
)  # fmt: skip
_FORMATS = {"string": ("enum", "date-time"), "integer": ("int32", "int64"), "number": ("float", "double")}
_MAX_DEPTH = 32


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` Gemini accepts; `$defs`/`definitions` at its root resolve `$ref`s."""
    definitions = {**_mapping(schema.get("definitions")), **_mapping(schema.get("$defs"))}
    return _clean(schema, definitions, frozenset(), 0)


def _clean(
    schema: dict[str, Any], definitions: dict[str, Any], seen: frozenset[str], depth: int
) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        target = definitions.get(name)
        if not isinstance(target, dict) or name in seen or depth >= _MAX_DEPTH:
            return {"type": "object", **_description(schema)}
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _clean(merged, definitions, seen | {name}, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        merged = {**all_of[0], **{k: v for k, v in schema.items() if k != "allOf"}}
        return _clean(merged, definitions, seen, depth + 1)

    def sub(value: dict[str, Any]) -> dict[str, Any]:
        return _clean(value, definitions, seen, depth + 1)

    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "const":
            out["enum"] = [value]
        elif key == "oneOf" and "anyOf" not in schema:
            out["anyOf"] = value
        elif key in _KEYS:
            out[key] = value
    _type(out)
    _enum(out)
    kind = out.get("type")
    if "format" in out and out["format"] not in (_FORMATS.get(kind, ()) if isinstance(kind, str) else ()):
        del out["format"]
    if isinstance(out.get("items"), dict):
        out["items"] = sub(out["items"])
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [sub(item) for item in out["anyOf"] if isinstance(item, dict)]
        _null_variant(out)
    properties = out.get("properties")
    if isinstance(properties, dict):
        cleaned = {name: sub(value) for name, value in properties.items() if isinstance(value, dict)}
        if cleaned:
            out["properties"] = cleaned
        else:
            del out["properties"]
    elif "properties" in out:
        del out["properties"]
    if "required" in out:
        names = out.get("properties", {})
        required = out["required"]
        kept = (
            [n for n in required if isinstance(n, str) and n in names] if isinstance(required, list) else []
        )
        if kept:
            out["required"] = kept
        else:
            del out["required"]
    return out


def _type(out: dict[str, Any]) -> None:
    """A type list such as ["string", "null"] becomes one type plus `nullable`."""
    kind = out.get("type")
    if not isinstance(kind, list):
        return
    types = [t for t in kind if isinstance(t, str) and t != "null"]
    if len(types) < len(kind):
        out["nullable"] = True
    if len(types) == 1:
        out["type"] = types[0]
    elif types:
        del out["type"]
        out["anyOf"] = [{"type": t} for t in types]
    else:
        del out["type"]


def _enum(out: dict[str, Any]) -> None:
    """Gemini's `enum` lists strings: a null value becomes `nullable`; an enum of other values
    (numbers, booleans) cannot be said and is dropped, the type still holding."""
    values = out.get("enum")
    if not isinstance(values, list):
        out.pop("enum", None)
        return
    kept = [value for value in values if value is not None]
    if len(kept) < len(values):
        out["nullable"] = True
    if kept and all(isinstance(value, str) for value in kept):
        out["enum"] = kept
    else:
        del out["enum"]


def _null_variant(out: dict[str, Any]) -> None:
    """`anyOf: [X, {"type": "null"}]` becomes X with `nullable`."""
    variants = [v for v in out["anyOf"] if v.get("type") != "null"]
    if len(variants) == len(out["anyOf"]):
        return
    out["nullable"] = True
    if len(variants) == 1:
        del out["anyOf"]
        out.update({k: v for k, v in variants[0].items() if k not in out})
    else:
        out["anyOf"] = variants


def _description(schema: dict[str, Any]) -> dict[str, Any]:
    value = schema.get("description")
    return {"description": value} if isinstance(value, str) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
