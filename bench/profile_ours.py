"""Profile our gateway under load with py-spy and print where its CPU goes.

Starts the fake upstream and our gateway as the benchmark does, loads one scenario with wrk
while `py-spy record` samples the gateway, then prints the hottest frames by own time and by
inclusive time (share of samples). The collapsed stacks are kept for a flame graph.
Usage: .venv/bin/python bench/profile_ours.py [scenario] [seconds]   (py-spy from bench/.venv-litellm)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import gateway
import lanes
import servers
from loads import run_wrk
from scenarios import SCENARIOS

PY_SPY = servers.LITELLM_VENV / "bin" / "py-spy"


def _frame(raw: str) -> str:
    """`func (path/file.py:12)` → `func file.py`: one entry per function, whatever the line."""
    name, _, where = raw.partition(" (")
    return f"{name} {where.rsplit('/', 1)[-1].rsplit(':', 1)[0]}"


def summarize(collapsed: Path, top: int = 25) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples", "own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines.append("inclusive time:")
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "ns_c16"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
    scenario = next(s for s in SCENARIOS if s.name == name)
    if servers.TWO_CORES:
        os.sched_setaffinity(0, {int(servers.LOAD_CORE)})
    workdir = Path(tempfile.mkdtemp(prefix="oneapi-profile-"))
    fake = servers.start_fake(workdir)
    ours = servers.start_ours(workdir)
    try:
        ours.key = gateway.set_up(ours.base, fake.base)
        body = workdir / "body.json"
        body.write_bytes(lanes.body(scenario.lane, scenario.stream))
        run_wrk(ours.url(scenario.lane), body, ours.key, scenario.concurrency, 3)  # warm-up
        collapsed = workdir / f"{name}.collapsed"
        record = ["record", "-p", str(ours.pid), "-f", "raw", "-o", str(collapsed)]
        spy = subprocess.Popen(
            [str(PY_SPY), *record, "-d", str(int(seconds) + 1), "-r", "250", "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        result = run_wrk(ours.url(scenario.lane), body, ours.key, scenario.concurrency, seconds)
        spy.wait(timeout=60)
    finally:
        ours.stop()
        fake.stop()
    print(f"{name}: {result['rate']:.0f} req/s under py-spy (sampling slows it a little)")
    print(summarize(collapsed))
    print(f"collapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
