"""How many seconds of audio a transcription is billed for (SPEC §5.7: duration × tokens per second).

The upstream's own figure wins: `duration` of a `verbose_json` answer, or a `usage` of type
"duration". Otherwise the uploaded file is measured: a PCM WAV exactly, from its header (the
`wave` module); any other format by its size at a typical bitrate for that format, since no
decoder (ffprobe) is guaranteed to be installed. The estimate errs short for high-bitrate files
and long for low-bitrate ones; it is only used when the upstream reports no duration.
"""

from __future__ import annotations

import io
import wave
from typing import Any

# Typical bitrates (bits per second) by file extension; unknown formats are treated as mp3.
BITRATES = {
    "mp3": 128_000,
    "mpga": 128_000,
    "mpeg": 128_000,
    "m4a": 128_000,
    "mp4": 128_000,
    "aac": 128_000,
    "ogg": 64_000,
    "oga": 64_000,
    "opus": 64_000,
    "webm": 64_000,
    "flac": 700_000,
    "wav": 256_000,  # a WAV the wave module cannot read: assume 16 kHz 16-bit mono
}
DEFAULT_BITRATE = 128_000


def measured_seconds(data: bytes, filename: str) -> float:
    """The file's duration: exact for PCM WAV, else estimated from its size."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(data)) as audio:
                rate = audio.getframerate()
                if rate > 0:
                    return audio.getnframes() / rate
        except (wave.Error, EOFError):
            pass
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return len(data) * 8 / BITRATES.get(extension, DEFAULT_BITRATE)


def reported_seconds(answer: Any) -> float | None:
    """The duration the upstream reported in its JSON answer, if it did."""
    if not isinstance(answer, dict):
        return None
    seconds = _seconds(answer.get("duration"))
    usage = answer.get("usage")
    if seconds is None and isinstance(usage, dict) and usage.get("type") == "duration":
        seconds = _seconds(usage.get("seconds"))
    return seconds


def _seconds(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return float(value) if ok else None
