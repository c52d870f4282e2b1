"""The benchmark of issue 6: the floor, a bare pass-through, our gateway and LiteLLM, side by side.

Every round runs every scenario against every server (the server order rotates per round), so
machine drift hits all of them alike; figures are the medians over rounds. Our gateway's books
are checked after the load. Results go to bench/results/<date>-<commit>[-mode].json.
Run it through bench/run (or `make bench`), which prepares the LiteLLM venv first.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import gateway
import lanes
import procstat
import report
import servers
from loads import run_streams, run_wrk
from scenarios import SCENARIOS, Scenario
from servers import BENCH, REPO, Server

ALL_SERVERS = ("floor", "passthrough", "ours", "litellm")
CPU_NOTE = (
    "cpu ms/req = CPU time of the server process (fake upstream for floor) during the run / requests "
    "completed; the fake's own CPU is not counted for the others"
)


def _log(message: str) -> None:
    print(message, flush=True)


def settle(server: Server, idle_share: float = 0.05, limit_s: float = 15) -> None:
    """Wait until the server is idle (requests abandoned by the last load are finished)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = procstat.cpu_seconds(server.pid)
        time.sleep(0.3)
        if procstat.cpu_seconds(server.pid) - before <= idle_share * 0.3:
            return


def write_bodies(workdir: Path) -> dict[tuple[str, bool], Path]:
    files = {}
    for lane in lanes.LANES:
        for stream in (False, True):
            path = workdir / f"body-{lane}-{'stream' if stream else 'json'}.json"
            path.write_bytes(lanes.body(lane, stream))
            files[(lane, stream)] = path
    return files


class Bench:
    """The servers, the bodies, and the traffic sent to our gateway (for the books)."""

    def __init__(
        self, workdir: Path, wanted: list[str], src: Path | None = None, compare: Path | None = None
    ) -> None:
        self.workdir = workdir
        self.src = src
        self.compare = compare
        self.bodies = write_bodies(workdir)
        self.fake = servers.start_fake(workdir)
        self.servers: dict[str, Server] = {}
        self.sent_to_ours = 0
        self.completed_by_ours = 0
        self.errors_through_ours = 0
        starters = {
            "floor": lambda: self.fake,
            "passthrough": lambda: servers.start_passthrough(workdir, self.fake.base),
            "ours": self._start_ours,
            "ours_b": self._start_ours_b,
            "litellm": lambda: servers.start_litellm(workdir, self.fake.base),
        }
        try:
            for name in wanted:
                _log(f"starting {name} ...")
                self.servers[name] = starters[name]()
        except BaseException:
            self.stop()
            raise
        self.idle_rss = {name: procstat.rss_mb(s.pid) for name, s in self.servers.items()}

    def _start_ours(self) -> Server:
        server = servers.start_ours(self.workdir, self.src)
        server.key = gateway.set_up(server.base, self.fake.base)
        return server

    def _start_ours_b(self) -> Server:
        """The A/B twin: our gateway from `--compare`, own database and upstream tag, no books."""
        workdir = self.workdir / "ours_b"
        workdir.mkdir(exist_ok=True)
        server = servers.start_ours(workdir, self.compare, name="ours_b")
        server.key = gateway.set_up(server.base, self.fake.base, tag="ours_b")
        return server

    def load(self, server: Server, scenario: Scenario, seconds: float) -> dict[str, Any]:
        body = self.bodies[(scenario.lane, scenario.stream)]
        url = server.url(scenario.lane)
        cpu_before = procstat.cpu_seconds(server.pid)
        if scenario.tool == "wrk":
            result = run_wrk(url, body, server.key, scenario.concurrency, seconds)
        else:
            result = run_streams(url, body, server.key, scenario.concurrency, seconds, lanes.PACE_MS)
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}); logs in {self.workdir}")
        settle(server)
        cpu = procstat.cpu_seconds(server.pid) - cpu_before
        result["cpu_ms_per_req"] = round(cpu * 1000 / max(1, result["completed"]), 3)
        if server.name == "ours":
            self.sent_to_ours += result["sent"]
            self.completed_by_ours += result["completed"]
            self.errors_through_ours += result["errors"]
        return result

    def warm_up(self, seconds: float) -> None:
        for server in self.servers.values():
            for scenario in (SCENARIOS[1], SCENARIOS[3]):
                self.load(server, scenario, seconds)

    def relayed_by_ours(self) -> int:
        with urllib.request.urlopen(self.fake.base + "/stats", timeout=10) as resp:
            counts: dict[str, int] = json.loads(resp.read())
        return sum(n for prefix, n in counts.items() if prefix.endswith("/via/ours"))

    def books(self) -> dict[str, Any] | None:
        if "ours" not in self.servers:
            return None
        return gateway.verify(
            self.workdir / "one-api.db", self.relayed_by_ours(), self.sent_to_ours, self.completed_by_ours
        )

    def stop(self) -> None:
        for server in [*self.servers.values(), self.fake]:
            server.stop()


def fake_ceiling(workdir: Path, body: Path, seconds: float) -> dict[str, Any]:
    """The fake upstream alone on the server core, loaded from the other core by wrk at c=64."""
    fake = servers.start_fake_alone(workdir)
    try:
        result = run_wrk(fake.url("fast"), body, "", 64, seconds)
    finally:
        fake.stop()
    _log(f"fake upstream ceiling: {result['rate']:.0f} req/s at c=64 (p50 {result['p50_ms']:.2f} ms)")
    return result


def run_rounds(
    bench: Bench, rounds: int, seconds: float, scenarios: list[Scenario] = SCENARIOS
) -> dict[str, Any]:
    per_round: dict[str, dict[str, list[dict[str, Any]]]] = {s.name: {} for s in scenarios}
    names = list(bench.servers)
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for scenario in scenarios:
            for name in order:
                result = bench.load(bench.servers[name], scenario, seconds)
                per_round[scenario.name].setdefault(name, []).append(result)
                _log(
                    f"round {index + 1}/{rounds} {scenario.name:12} {name:12} {result['rate']:9.1f}/s "
                    f"p50 {result['p50_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms  "
                    f"errors {result['errors']}"
                )
    return {
        "rounds": per_round,
        "summary": {sc: {srv: report.fold(rs) for srv, rs in by.items()} for sc, by in per_round.items()},
    }


def soak(bench: Bench, minutes: float) -> dict[str, Any]:
    """Alternate 30 s of non-stream c=16 and 30 s of paced streams c=64; sample RSS every slice."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in bench.servers}
    start = time.monotonic()
    deadline = start + minutes * 60
    slice_s = min(30.0, minutes * 60 / 4)
    turn = 0
    while time.monotonic() < deadline:
        scenario = SCENARIOS[1] if turn % 2 == 0 else SCENARIOS[6]
        for name, server in bench.servers.items():
            bench.load(server, scenario, slice_s)
            samples[name].append((round(time.monotonic() - start, 1), procstat.rss_mb(server.pid)))
        turn += 1
        _log(
            f"soak {time.monotonic() - start:6.0f} s: "
            + ", ".join(f"{n} {s[-1][1]} MB" for n, s in samples.items())
        )
    growth = {}
    for name, series in samples.items():
        warm = next((mb for t, mb in series if t >= 60), series[0][1])
        growth[name] = round(series[-1][1] - warm, 1)
    return {"minutes": minutes, "rss_samples_mb": samples, "growth_after_first_minute_mb": growth}


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def code_under_test(src: Path | None) -> str:
    if src is not None:
        return f"src/ from {src}"
    out = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True, check=False
    )
    changed = len(out.stdout.splitlines())
    return (
        "src/ at the commit" if not changed else f"working tree: {changed} src/ paths differ from the commit"
    )


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "wrk": wrk[0] if wrk else "",
        "litellm": servers.litellm_version(),
        "pinning": "servers under test on core 1; fake upstream, wrk, stream client and harness on core 0"
        if servers.TWO_CORES
        else "none (fewer than 2 cores)",
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s per scenario (about 2 minutes)")
    parser.add_argument("--soak", action="store_true", help="memory growth under 10 minutes of load")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario per server")
    parser.add_argument("--servers", help="comma-separated subset (default: all four; with --soak: ours)")
    parser.add_argument("--src", type=Path, help="run our gateway from this src/ (e.g. a clean export)")
    parser.add_argument("--commit", help="the commit --src was exported from (names the results file)")
    parser.add_argument(
        "--compare",
        type=Path,
        help="A/B: also run our gateway from this src/ as server 'ours_b', interleaved with 'ours'",
    )
    parser.add_argument("--scenarios", help="comma-separated subset of the scenarios (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, SQLite file)")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if servers.TWO_CORES:
        os.sched_setaffinity(0, {int(servers.LOAD_CORE)})
    default = "ours" if args.soak else ",".join(ALL_SERVERS)
    wanted = [s for s in (args.servers or default).split(",") if s in ALL_SERVERS]
    if args.compare:
        wanted.insert(wanted.index("ours") + 1 if "ours" in wanted else len(wanted), "ours_b")
    scenarios = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios.split(",")]
    if not scenarios:
        sys.exit(f"bench: no scenario in {args.scenarios!r}; known: {', '.join(s.name for s in SCENARIOS)}")
    if args.soak:
        wanted = [s for s in wanted if s in ("ours", "litellm")] or ["ours"]
    rounds, seconds = (1, 3.0) if args.quick else (args.rounds, args.duration)
    partial = args.scenarios or args.compare
    mode = "soak" if args.soak else "quick" if args.quick else "partial" if partial else "full"
    workdir = Path(tempfile.mkdtemp(prefix="oneapi-bench-"))
    _log(f"bench: mode {mode}, servers {', '.join(wanted)}, work dir {workdir}")
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": args.commit or git_commit(),
        "mode": mode,
        "rounds": rounds,
        "seconds_per_run": seconds,
        "machine": machine(),
        "loadavg_at_start": os.getloadavg(),
        "scenarios": {s.name: s.about for s in scenarios},
    }
    if not args.soak:
        ceiling_body = workdir / "ceiling.json"
        ceiling_body.write_bytes(lanes.body("fast", False))
        result["fake_ceiling"] = fake_ceiling(workdir, ceiling_body, 3 if args.quick else 5)
    result["code"] = code_under_test(args.src)
    bench = Bench(workdir, wanted, args.src, args.compare)
    result["servers"] = {name: s.label for name, s in bench.servers.items()}
    result["idle_rss_mb"] = bench.idle_rss
    try:
        if args.soak:
            result["soak"] = soak(bench, args.soak_minutes)
        else:
            bench.warm_up(1 if args.quick else 2)
            result.update(run_rounds(bench, rounds, seconds, scenarios))
        result["peak_rss_mb"] = {name: procstat.peak_rss_mb(s.pid) for name, s in bench.servers.items()}
        result["books"] = bench.books()
        result["loadavg_at_end"] = os.getloadavg()
    finally:
        bench.stop()
    books = result.get("books")
    if not args.keep and (not books or books["ok"]):
        shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure: its logs tell why
    return finish(result, args, mode)


def finish(result: dict[str, Any], args: argparse.Namespace, mode: str) -> int:
    if mode != "soak":
        result["targets"] = report.targets(result["summary"], result["peak_rss_mb"])
        _log("\n" + report.table(result["summary"], result["servers"], CPU_NOTE))
    else:
        limit = 10.0
        growth = result["soak"]["growth_after_first_minute_mb"].get("ours")
        result["targets"] = [
            report.target("soak RSS growth after the first minute", growth, limit, True, " MB")
        ]
    _log("peak RSS MB: " + ", ".join(f"{k} {v}" for k, v in result["peak_rss_mb"].items()))
    _log("targets of issue 6 (ours, everything on):\n" + report.target_lines(result["targets"]))
    books = result.get("books")
    if books:
        _log(
            f"books: {'OK' if books['ok'] else 'WRONG'}: {books['logs']} consume logs for "
            f"{books['requests_relayed_upstream']} relayed requests ({books['client_sent']} sent, "
            f"{books['client_completed']} completed); quota logged {books['logged_quota']}, "
            f"user debited {books['user_debit']}, token debited {books['token_debit']}"
        )
        for check, ok in books["checks"].items():
            _log(f"  [{'ok' if ok else 'FAIL'}] {check}")
    if not args.no_save:
        day = result["date"][:10]
        suffix = "" if mode == "full" else f"-{mode}"
        path = BENCH / "results" / f"{day}-{result['commit']}{suffix}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        _log(f"results written to {path.relative_to(REPO)}")
    return 0 if not books or books["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
