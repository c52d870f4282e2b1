"""A multipart/form-data body read in place, so it can be forwarded byte for byte.

The relay needs a few text fields (model, n, size, response_format) and the length of the
uploaded file, then sends the client's own bytes upstream under the client's boundary. Parts are
kept as offsets into the raw body; changing one field (a mapped model name) splices that value
alone and leaves every other byte, file contents included, untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oneapi.relay.errors import RelayError

_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None  # None for a plain text field
    content_type: str
    start: int  # offsets of the part's content in the raw body
    end: int


class Multipart:
    def __init__(self, raw: bytes, content_type: str, parts: list[Part], closing: int) -> None:
        self.raw = raw
        self.content_type = content_type  # the client's header, boundary included
        self.parts = parts
        self._closing = closing  # offset of the CRLF before the closing delimiter

    @property
    def boundary(self) -> bytes:
        return _boundary(self.content_type)

    def content(self, part: Part) -> bytes:
        return self.raw[part.start : part.end]

    def fields(self) -> dict[str, str]:
        """The text fields by name (the first of repeated names), decoded as UTF-8."""
        out: dict[str, str] = {}
        for part in self.parts:
            if part.filename is None and part.name not in out:
                out[part.name] = self.content(part).decode("utf-8", "replace")
        return out

    def files(self, *names: str) -> list[Part]:
        return [p for p in self.parts if p.filename is not None and p.name in names]

    def with_field(self, name: str, value: str) -> bytes:
        """The raw body with text field `name` set to `value` (appended when absent)."""
        data = value.encode()
        for part in self.parts:
            if part.filename is None and part.name == name:
                return self.raw[: part.start] + data + self.raw[part.end :]
        head = f'\r\n--{self.boundary.decode()}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        return self.raw[: self._closing] + head.encode() + data + self.raw[self._closing :]


def _boundary(content_type: str) -> bytes:
    return _params(content_type).get("boundary", "").encode("latin-1", "replace")


def _params(header: str) -> dict[str, str]:
    """The `; name=value` parameters of a header (names lower-cased, quotes removed)."""
    out: dict[str, str] = {}
    for match in _PARAM.finditer(header):
        quoted, bare = match.group(2), match.group(3)
        out.setdefault(match.group(1).lower(), quoted.replace('\\"', '"') if quoted is not None else bare)
    return out


def _disposition(headers: bytes) -> tuple[str, str | None, str]:
    """(field name, filename or None, content type) from a part's header block."""
    name, filename, content_type = "", None, ""
    for line in headers.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-disposition":
            params = _params(value)
            name, filename = params.get("name", ""), params.get("filename")
        elif key == "content-type":
            content_type = value.strip()
    return name, filename, content_type


def _bad(detail: str) -> RelayError:
    return RelayError(400, f"invalid multipart body: {detail}", "invalid_request")


def parse_multipart(raw: bytes, content_type: str) -> Multipart:
    """Read a multipart/form-data body; a malformed one is a 400."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise RelayError(400, "the request body must be multipart/form-data", "invalid_request")
    boundary = _boundary(content_type)
    if not boundary:
        raise _bad("no boundary in the Content-Type header")
    dash = b"--" + boundary
    delimiter = b"\r\n" + dash
    if raw.startswith(dash):
        pos = len(dash)
    else:
        first = raw.find(delimiter)
        if first < 0:
            raise _bad("the boundary never occurs")
        pos = first + len(delimiter)
    parts: list[Part] = []
    while raw[pos : pos + 2] != b"--":
        line_end = raw.find(b"\r\n", pos)
        end = raw.find(delimiter, max(line_end, 0))
        if line_end < 0 or end < 0:
            raise _bad("a part is not terminated by the boundary")
        head_start = line_end + 2
        if raw.startswith(b"\r\n", head_start):
            head_end, start = head_start, head_start + 2
        else:
            head_end = raw.find(b"\r\n\r\n", head_start, end)
            if head_end < 0:
                raise _bad("a part has no blank line after its headers")
            start = head_end + 4
        head_end, start = min(head_end, end), min(start, end)
        name, filename, part_type = _disposition(raw[head_start:head_end])
        parts.append(Part(name, filename, part_type, start, end))
        pos = end + len(delimiter)
    return Multipart(raw, content_type, parts, pos - len(delimiter))
