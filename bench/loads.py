"""Run one load (wrk for request/response and whole streams, stream_client.py for TTFB/stalls).

Both load generators run pinned to the load core and return one flat dict of figures:
completed, sent, errors, rate (per second), latency p50/p90/p99 in ms, plus extras.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from servers import BENCH, LOAD_CORE, pinned

WRK_LUA = BENCH / "wrk" / "post.lua"
STREAM_FRAMES = 22  # 20 chunks, the usage chunk and [DONE]: one paced stream lasts 22 paces


def run_wrk(url: str, body: Path, key: str, concurrency: int, seconds: float) -> dict[str, Any]:
    argv = [
        "wrk",
        *("-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "--latency"),
        *("-s", str(WRK_LUA), url, "--", str(body), key),
    ]
    out = subprocess.run(pinned(LOAD_CORE, argv), capture_output=True, text=True, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    lat = raw["latency_us"]
    non_2xx = sum(n for code, n in raw["status"].items() if not code.startswith("2"))
    socket_errors = sum(raw["errors"].values()) - raw["errors"]["status"]
    seconds_run = raw["duration_us"] / 1e6
    return {
        "completed": raw["requests"],
        "sent": raw["sent"],
        "errors": non_2xx + socket_errors,
        "rate": round(raw["requests"] / seconds_run, 1),
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "status": raw["status"],
        "socket_errors": raw["errors"],
    }


def run_streams(
    url: str, body: Path, key: str, concurrency: int, seconds: float, pace_ms: float
) -> dict[str, Any]:
    argv = [
        sys.executable,
        str(BENCH / "stream_client.py"),
        url,
        *("--body", str(body), "--key", key, "-c", str(concurrency), "-d", str(seconds)),
        *("--pace-ms", str(pace_ms), "--spread-s", str(pace_ms * STREAM_FRAMES / 1000)),
    ]
    out = subprocess.run(pinned(LOAD_CORE, argv), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"stream client failed: {out.stderr[-800:]}")
    raw = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "completed": raw["completed"],
        "sent": raw["sent"],
        "errors": raw["errors"],
        "rate": raw["streams_per_s"],
        "p50_ms": raw["total_ms"]["p50"],
        "p90_ms": raw["total_ms"]["p90"],
        "p99_ms": raw["total_ms"]["p99"],
        "ttfb_p50_ms": raw["ttfb_ms"]["p50"],
        "ttfb_p90_ms": raw["ttfb_ms"]["p90"],
        "ttfb_p99_ms": raw["ttfb_ms"]["p99"],
        "stalls": raw["stalls"],
        "max_gap_ms": raw["max_gap_ms"],
        "error_samples": raw["error_samples"],
    }
