"""The scenarios of issue 6, each run against every server in every round."""

from __future__ import annotations

from dataclasses import dataclass

from lanes import PACE_MS


@dataclass(frozen=True)
class Scenario:
    name: str
    about: str
    lane: str
    stream: bool
    concurrency: int
    tool: str  # "wrk" (rate and latency) or "streams" (stream_client.py: TTFB and stalls)


SCENARIOS = [
    Scenario("ns_c1", "non-stream chat, 1 connection", "fast", False, 1, "wrk"),
    Scenario("ns_c16", "non-stream chat, 16 connections", "fast", False, 16, "wrk"),
    Scenario("ns_c64", "non-stream chat, 64 connections", "fast", False, 64, "wrk"),
    Scenario("stream_c16", "stream, 20 chunks+usage unpaced, 16 connections", "fast", True, 16, "wrk"),
    Scenario("slow50_c16", "non-stream, upstream answers after 50 ms, 16 conns", "slow50", False, 16, "wrk"),
    Scenario("ttfb_c16", f"stream paced {PACE_MS} ms/chunk, 16 concurrent", "paced", True, 16, "streams"),
    Scenario("stalls_c64", f"stream paced {PACE_MS} ms/chunk, 64 concurrent", "paced", True, 64, "streams"),
    Scenario(
        "stalls_c256", f"stream paced {PACE_MS} ms/chunk, 256 concurrent", "paced", True, 256, "streams"
    ),
]
