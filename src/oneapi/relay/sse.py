"""Server-sent events: an incremental reader for upstream streams and the frames we write back.

The decoder works on bytes as they arrive, keeps only the unfinished frame in memory (bounded by
`max_frame_size`), and hands back each frame's exact bytes as well, so the fast lane can forward
upstream bytes unchanged while reading usage on the side. Lines may end in `\\n`, `\\r\\n` or `\\r`;
the scanning uses `bytes.find`, never a loop over single bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_FRAME_SIZE = 32 * 1024 * 1024
DONE_FRAME = b"data: [DONE]\n\n"
_BOM = b"\xef\xbb\xbf"


class SSEFrameTooLarge(ValueError):
    """An SSE frame grew past the decoder's limit without ending (a broken or hostile upstream)."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One frame: its `event:` name (None when absent), its data lines joined with b"\\n", its bytes.

    `has_data` is False for frames that carried no `data:` line (keep-alive comments); the decoder
    returns those only when built with `keep_comments=True`.
    """

    event: str | None
    data: bytes
    raw: bytes
    has_data: bool = True


class SSEDecoder:
    """Feed it chunks; it returns the frames each chunk completes. Call `finish()` at end of stream."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, keep_comments: bool = False) -> None:
        self._max = max_frame_size
        self._keep_comments = keep_comments
        self._buf = bytearray()
        self._pos = 0  # start of the first line not yet read
        self._scan = 0  # no line break lies in buf[_pos:_scan]
        self._cr = False  # a `\r` was ever seen: only then must lines be split on it too
        self._started = False  # the optional leading byte-order mark was dealt with
        self._reset_frame()

    def _reset_frame(self) -> None:
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        self._buf += chunk
        if not self._cr and b"\r" in chunk:
            self._cr = True
        if not self._started and not self._skip_bom():
            return []
        events = self._read_lines(final=False)
        pending = len(self._buf)
        if pending > self._max:
            raise SSEFrameTooLarge(
                f"SSE frame exceeds {self._max} bytes without ending (a blank line); stream rejected"
            )
        return events

    def finish(self) -> list[SSEEvent]:
        """End of stream: the last line and frame count even without their closing line breaks."""
        self._started = True
        events = self._read_lines(final=True)
        if self._pos < len(self._buf) and self._buf[self._pos] != 0x3A:
            self._field(bytes(self._buf[self._pos :]))
        if self._buf:
            event = self._dispatch(bytes(self._buf))
            if event is not None:
                events.append(event)
        self._buf.clear()
        self._pos = self._scan = 0
        return events

    def _skip_bom(self) -> bool:
        """Drop a leading UTF-8 BOM; False while the buffer is still a prefix of one."""
        head = bytes(self._buf[:3])
        if len(head) < 3 and _BOM.startswith(head):
            return False
        if head == _BOM:
            del self._buf[:3]
        self._started = True
        return True

    def _line_end(self, final: bool) -> tuple[int, int]:
        """(end of the next line, start of the line after it), or (-1, -1) if no complete line."""
        buf = self._buf
        start = max(self._pos, self._scan)
        lf = buf.find(b"\n", start)
        if not self._cr:
            return (lf, lf + 1) if lf >= 0 else (-1, -1)
        cr = buf.find(b"\r", start, lf if lf >= 0 else len(buf))
        if cr < 0:
            return (lf, lf + 1) if lf >= 0 else (-1, -1)
        if cr + 1 < len(buf):
            return (cr, cr + 2) if buf[cr + 1] == 0x0A else (cr, cr + 1)
        # A `\r` ends the buffer: it may be the first half of `\r\n`, so wait unless the stream ended.
        return (cr, cr + 1) if final else (-1, -1)

    def _read_lines(self, final: bool) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        buf = self._buf
        frame_start = 0
        while True:
            end, nxt = self._line_end(final)
            if end < 0:
                break
            if end == self._pos:
                event = self._dispatch(bytes(buf[frame_start:nxt]))
                if event is not None:
                    events.append(event)
                frame_start = nxt
            elif buf[self._pos] != 0x3A:  # lines starting with ":" are comments
                self._field(bytes(buf[self._pos : end]))
            self._pos = nxt
        self._scan = len(buf) - (1 if self._cr and buf.endswith(b"\r") else 0)
        if frame_start:
            del buf[:frame_start]
            self._pos -= frame_start
            self._scan -= frame_start
        return events

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")

    def _dispatch(self, raw: bytes) -> SSEEvent | None:
        if len(raw) > self._max:
            raise SSEFrameTooLarge(f"SSE frame of {len(raw)} bytes exceeds the limit of {self._max} bytes")
        has_data = bool(self._data)
        event = None
        if has_data or (self._keep_comments and raw.strip()):
            data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
            event = SSEEvent(self._event, data, raw, has_data)
        self._reset_frame()
        return event


def data_frame(payload: bytes) -> bytes:
    """`data: <payload>` plus the blank line; a payload with line breaks becomes several data lines."""
    if b"\n" in payload or b"\r" in payload:
        return b"".join(b"data: " + line + b"\n" for line in payload.splitlines()) + b"\n"
    return b"data: " + payload + b"\n\n"


def event_frame(event: str, payload: bytes) -> bytes:
    """A named event (Anthropic and Responses streams): `event: <name>` then the data lines."""
    return b"event: " + event.encode() + b"\n" + data_frame(payload)
