"""The upstream behaviours the scenarios use, and how each server under test reaches them.

A lane is one mode of the fake upstream (see fake_upstream.py), served under its own model name
so that our gateway and LiteLLM route to it by model, as a real deployment would.
"""

from __future__ import annotations

PACE_MS = 25  # the paced lane's gap between stream chunks (40 tokens/s, a realistic model speed)

LANES: dict[str, tuple[str, str]] = {
    # lane: (fake upstream path prefix, model name)
    "fast": ("", "gpt-4o-mini"),
    "slow50": ("/delay/50", "gpt-4o"),
    "paced": (f"/pace/{PACE_MS}", "gpt-4.1-mini"),
}
CHAT_PATH = "/v1/chat/completions"


def prefix(lane: str) -> str:
    return LANES[lane][0]


def model(lane: str) -> str:
    return LANES[lane][1]


def body(lane: str, stream: bool) -> bytes:
    """The request every client sends in `lane`: a short chat turn, as JSON bytes."""
    text = (
        '{"model":"%s","messages":[{"role":"system","content":"You are terse."},'
        '{"role":"user","content":"Write one sentence about load testing."}],'
        '"max_tokens":64,"stream":%s}'
    )
    return (text % (model(lane), "true" if stream else "false")).encode()
