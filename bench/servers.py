"""Start, reach and stop the servers under test, each pinned to its CPU core.

Core layout on a 2-core machine: the server under test (our gateway, LiteLLM or the bare
pass-through) runs alone on core 1; the fake upstream, the load generators and this harness
share core 0. The floor is the fake upstream itself, called directly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lanes import CHAT_PATH, LANES, prefix

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LITELLM_VENV = BENCH / ".venv-litellm"
TWO_CORES = (os.cpu_count() or 1) >= 2
SERVER_CORE = "1"
LOAD_CORE = "0"


def pinned(core: str, argv: list[str]) -> list[str]:
    """`argv` run under `taskset -c core` when the machine has two cores or more."""
    return ["taskset", "-c", core, *argv] if TWO_CORES else argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server: `name` keys the results, `label` says in words what it is."""

    name: str
    label: str
    base: str
    proc: subprocess.Popen[bytes]
    path_of: Callable[[str], str] = field(default=lambda lane: CHAT_PATH)
    key: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, lane: str) -> str:
        return self.base + self.path_of(lane)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"bench: {url} not ready within {timeout:.0f} s; see {log}")


def start_fake(workdir: Path) -> Server:
    port = free_port()
    log = workdir / "fake_upstream.log"
    argv = [sys.executable, str(BENCH / "fake_upstream.py"), "--port", str(port)]
    proc = _spawn(pinned(LOAD_CORE, argv), log)
    base = f"http://127.0.0.1:{port}"
    wait_ready(proc, base + "/stats", log)
    return Server("floor", "fake upstream, called directly (the floor)", base, proc, _fake_path)


def start_fake_alone(workdir: Path) -> Server:
    """The fake on the server core, to measure its own ceiling with the load on the other core."""
    port = free_port()
    log = workdir / "fake_ceiling.log"
    argv = [sys.executable, str(BENCH / "fake_upstream.py"), "--port", str(port)]
    proc = _spawn(pinned(SERVER_CORE, argv), log)
    base = f"http://127.0.0.1:{port}"
    wait_ready(proc, base + "/stats", log)
    return Server("fake_ceiling", "fake upstream alone on the server core", base, proc, _fake_path)


def _fake_path(lane: str) -> str:
    return prefix(lane) + CHAT_PATH


def start_passthrough(workdir: Path, upstream: str) -> Server:
    port = free_port()
    log = workdir / "passthrough.log"
    argv = [sys.executable, str(BENCH / "passthrough.py"), "--port", str(port), "--upstream", upstream]
    proc = _spawn(pinned(SERVER_CORE, argv), log)
    base = f"http://127.0.0.1:{port}"
    wait_ready(proc, base + "/health", log)
    return Server("passthrough", "bare aiohttp pass-through (no auth, no billing)", base, proc, _fake_path)


def start_ours(workdir: Path, src: Path | None = None, name: str = "ours") -> Server:
    """Our gateway from the project's .venv; `src` runs another checkout's code (e.g. a clean HEAD)."""
    port = free_port()
    log = workdir / "ours.log"
    env = {
        **({"PYTHONPATH": str(src)} if src else {}),
        "SQLITE_PATH": str(workdir / "one-api.db"),
        "SESSION_SECRET": "bench-session-secret",
        "ENABLE_COOKIE_SECURE": "false",  # the set-up logs in over plain HTTP
        # The relay rate limiter stays on (every request is counted) but may not refuse the load.
        "GLOBAL_RELAY_RATE_LIMIT": "1000000000",
        "PORT": str(port),
    }
    argv = [str(REPO / ".venv" / "bin" / "one-api"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = _spawn(pinned(SERVER_CORE, argv), log, env)
    base = f"http://127.0.0.1:{port}"
    wait_ready(proc, base + "/api/status", log)
    label = "our gateway (1 worker, SQLite, auth+routing+billing+logs on)"
    return Server(name, label + (f" from {src}" if src else ""), base, proc)


LITELLM_KEY = "sk-bench-litellm-master"


def litellm_config(upstream: str) -> str:
    lines = ["model_list:"]
    for lane, (lane_prefix, model) in LANES.items():
        lines += [
            f"  - model_name: {model}",
            "    litellm_params:",
            f"      model: openai/{model}",
            f"      api_base: {upstream}{lane_prefix}/via/litellm/v1",
            "      api_key: upstream-key",
            f"    model_info: {{id: bench-{lane}}}",
        ]
    lines += [
        "litellm_settings:",
        "  callbacks: []",
        "  success_callback: []",
        "  failure_callback: []",
        "  telemetry: false",
        "general_settings:",
        f"  master_key: {LITELLM_KEY}",
    ]
    return "\n".join(lines) + "\n"


def start_litellm(workdir: Path, upstream: str) -> Server:
    port = free_port()
    log = workdir / "litellm.log"
    config = workdir / "litellm.yaml"
    config.write_text(litellm_config(upstream))
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    argv = [
        str(LITELLM_VENV / "bin" / "litellm"),
        *("--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"),
    ]
    proc = _spawn(pinned(SERVER_CORE, argv), log, env)
    base = f"http://127.0.0.1:{port}"
    wait_ready(proc, base + "/health/liveliness", log, timeout=180)
    return Server(
        "litellm", "LiteLLM proxy (1 worker, config only, no database)", base, proc, key=LITELLM_KEY
    )


def litellm_version() -> str:
    out = subprocess.run(
        [
            str(LITELLM_VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "missing"
