"""Streaming load client: time-to-first-byte, streams/s and stalls for chat-completion streams.

c workers each open a stream, read it to `[DONE]`, and start the next one until the duration is
over; streams under way then are read to their end (none is abandoned, so every stream started
is a stream the server finished). A stall is a gap between two reads longer than
`stall_factor` x the upstream's pace. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
import orjson
import uvloop


@dataclass
class Tally:
    started: int = 0
    completed: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    ttfb_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    max_gap_ms: float = 0.0
    stalls: int = 0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 3)


async def one_stream(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], stall_s: float, t: Tally
) -> None:
    t.started += 1
    start = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                t.error(f"HTTP {resp.status}: {(await resp.read())[:150]!r}")
                return
            first = last = 0.0
            tail = b""
            async for chunk in resp.content.iter_any():
                now = time.perf_counter()
                if not first:
                    first = now
                else:
                    gap = now - last
                    t.max_gap_ms = max(t.max_gap_ms, gap * 1000)
                    if stall_s and gap > stall_s:
                        t.stalls += 1
                last = now
                tail = (tail + chunk)[-64:]
    except (aiohttp.ClientError, TimeoutError) as exc:
        t.error(f"{type(exc).__name__}: {exc}")
        return
    if b"[DONE]" not in tail:
        t.error("stream ended without [DONE]")
        return
    t.completed += 1
    t.ttfb_ms.append((first - start) * 1000)
    t.total_ms.append((last - start) * 1000)


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    stall_s: float,
    t: Tally,
    delay: float,
) -> None:
    await asyncio.sleep(delay)  # spread the workers so paced streams do not arrive in lockstep
    while time.perf_counter() < deadline:
        await one_stream(session, url, body, headers, stall_s, t)


async def run(args: argparse.Namespace) -> dict[str, object]:
    with open(args.body, "rb") as f:
        body = f.read()
    headers = {"Content-Type": "application/json"}
    if args.key:
        headers["Authorization"] = f"Bearer {args.key}"
    stall_s = args.pace_ms * args.stall_factor / 1000
    tally = Tally()
    spread = args.spread_s / args.concurrency
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        deadline = start + args.duration
        await asyncio.gather(
            *(
                worker(session, args.url, body, headers, deadline, stall_s, tally, i * spread)
                for i in range(args.concurrency)
            )
        )
        elapsed = time.perf_counter() - start
    return {
        "concurrency": args.concurrency,
        "duration_s": round(elapsed, 3),
        "sent": tally.started,
        "completed": tally.completed,
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "streams_per_s": round(tally.completed / elapsed, 1) if elapsed else 0.0,
        "ttfb_ms": {p: percentile(tally.ttfb_ms, q) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))},
        "total_ms": {p: percentile(tally.total_ms, q) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))},
        "pace_ms": args.pace_ms,
        "stall_threshold_ms": round(stall_s * 1000, 3) if stall_s else None,
        "stalls": tally.stalls if stall_s else None,
        "max_gap_ms": round(tally.max_gap_ms, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--body", required=True, help="file with the JSON request body (stream: true)")
    parser.add_argument("--key", default="", help="bearer key")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds to start streams")
    parser.add_argument("--pace-ms", type=float, default=0.0, help="the upstream's gap between chunks")
    parser.add_argument("--stall-factor", type=float, default=10.0)
    parser.add_argument("--spread-s", type=float, default=0.0, help="stagger worker starts over this")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-stream limit, seconds")
    result = uvloop.run(run(parser.parse_args()))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
