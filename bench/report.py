"""Fold the rounds into medians, judge issue 6's targets, and print the table.

Every figure is keyed by scenario and server name (floor, passthrough, ours, litellm), and the
table prints the server's name on each row, so no figure can be read as another server's.
"""

from __future__ import annotations

import statistics
from typing import Any

from scenarios import SCENARIOS

MEDIAN_FIELDS = (
    "rate",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "ttfb_p50_ms",
    "ttfb_p90_ms",
    "ttfb_p99_ms",
    "cpu_ms_per_req",
)
SUM_FIELDS = ("completed", "sent", "errors", "stalls")


def fold(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the per-round figures; counts summed; the worst gap kept."""
    out: dict[str, Any] = {"rounds": len(rounds)}
    for name in MEDIAN_FIELDS:
        values = [r[name] for r in rounds if r.get(name) is not None]
        if values:
            out[name] = round(statistics.median(values), 3)
    for name in SUM_FIELDS:
        values = [r[name] for r in rounds if r.get(name) is not None]
        if values:
            out[name] = sum(values)
    gaps = [r["max_gap_ms"] for r in rounds if r.get("max_gap_ms") is not None]
    if gaps:
        out["max_gap_ms"] = max(gaps)
    return out


def _get(summary: dict[str, Any], scenario: str, server: str, name: str) -> float | None:
    value = summary.get(scenario, {}).get(server, {}).get(name)
    return None if value is None else float(value)


def target(what: str, measured: float | None, limit: float, at_most: bool, unit: str) -> dict[str, Any]:
    ok = None if measured is None else (measured <= limit if at_most else measured >= limit)
    return {
        "target": what,
        "measured": None if measured is None else round(measured, 3),
        "limit": round(limit, 3),
        "unit": unit,
        "ok": ok,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _added(summary: dict[str, Any], scenario: str, name: str, server: str = "ours") -> float | None:
    ours, floor = _get(summary, scenario, server, name), _get(summary, scenario, "floor", name)
    return None if ours is None or floor is None else ours - floor


def targets(summary: dict[str, Any], rss: dict[str, float]) -> list[dict[str, Any]]:
    """Issue 6's targets with the measured value next to each limit."""
    out = [
        target("added p50 latency at c=1 (ours - floor)", _added(summary, "ns_c1", "p50_ms"), 0.5, True, "ms")
    ]
    litellm_added = _added(summary, "ns_c1", "p50_ms", "litellm")
    ours_added = _added(summary, "ns_c1", "p50_ms")
    if litellm_added:
        out.append(
            target("added latency at c=1 vs LiteLLM's", _ratio(ours_added, litellm_added), 0.1, True, "x")
        )
    for scenario in ("ns_c16", "ns_c64"):
        ours = _get(summary, scenario, "ours", "rate")
        litellm = _get(summary, scenario, "litellm", "rate")
        bare = _get(summary, scenario, "passthrough", "rate")
        if litellm:
            out.append(target(f"{scenario} req/s vs LiteLLM's", _ratio(ours, litellm), 25, False, "x"))
        if bare:
            out.append(
                target(f"{scenario} req/s vs bare pass-through's", _ratio(ours, bare), 0.4, False, "x")
            )
    litellm_streams = _get(summary, "stream_c16", "litellm", "rate")
    if litellm_streams:
        ours_streams = _get(summary, "stream_c16", "ours", "rate")
        out.append(
            target("stream_c16 streams/s vs LiteLLM's", _ratio(ours_streams, litellm_streams), 25, False, "x")
        )
    out += [
        target(
            "added TTFB p50 at c=16 (ours - floor)", _added(summary, "ttfb_c16", "ttfb_p50_ms"), 1, True, "ms"
        ),
        target(
            "stalls with 256 concurrent streams", _get(summary, "stalls_c256", "ours", "stalls"), 0, True, ""
        ),
        target("50 ms upstream: added p50", _added(summary, "slow50_c16", "p50_ms"), 2, True, "ms"),
        target("50 ms upstream: added p99", _added(summary, "slow50_c16", "p99_ms"), 5, True, "ms"),
    ]
    if rss.get("litellm"):
        out.append(target("peak RSS vs LiteLLM's", _ratio(rss.get("ours"), rss["litellm"]), 0.3, True, "x"))
    ran_ours = any("ours" in by for by in summary.values())
    errors = sum(int(_get(summary, s.name, "ours", "errors") or 0) for s in SCENARIOS)
    out.append(target("errors through our gateway", float(errors) if ran_ours else None, 0, True, ""))
    return out


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(summary: dict[str, Any], servers: dict[str, str], cpu_note: str) -> str:
    head = (
        f"{'scenario':13} {'server':12} {'rate/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'ttfb50':>7} {'ttfb99':>7} {'cpu ms/req':>10} {'errors':>6} {'stalls':>6}"
    )
    lines = [head, "-" * len(head)]
    for scenario in SCENARIOS:
        lines.append(f"{scenario.name}: {scenario.about}")
        for server in servers:
            row = summary.get(scenario.name, {}).get(server)
            if not row:
                continue
            lines.append(
                f"{'':13} {server:12} {_fmt(row.get('rate'), 1):>9} {_fmt(row.get('p50_ms')):>8} "
                f"{_fmt(row.get('p90_ms')):>8} {_fmt(row.get('p99_ms')):>8} "
                f"{_fmt(row.get('ttfb_p50_ms')):>7} {_fmt(row.get('ttfb_p99_ms')):>7} "
                f"{_fmt(row.get('cpu_ms_per_req'), 3):>10} {_fmt(row.get('errors')):>6} "
                f"{_fmt(row.get('stalls')):>6}"
            )
    lines.append("servers: " + "; ".join(f"{name} = {label}" for name, label in servers.items()))
    lines.append(cpu_note)
    return "\n".join(lines)


def target_lines(checks: list[dict[str, Any]]) -> str:
    lines = []
    for t in checks:
        mark = {True: "PASS", False: "MISS", None: "n/a "}[t["ok"]]
        lines.append(
            f"  [{mark}] {t['target']}: {_fmt(t['measured'], 3)}{t['unit']} "
            f"(limit {_fmt(t['limit'], 3)}{t['unit']})"
        )
    return "\n".join(lines)
