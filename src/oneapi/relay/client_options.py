"""What the caller asked for beside the body: URL switches (SPEC §6.3) and Anthropic headers.

`?thinking=1|true|yes|on` turns reasoning on (`0|false|no|off` off, anything else ignored),
`?reasoning_effort=` sizes it, `?reasoning_format=reasoning_content|reasoning|thinking` names the
field that carries reasoning text in Chat answers (default `reasoning`; unknown values are ignored).
`switched` says whether the caller used any of them: only then does a request whose protocol the
channel speaks leave the fast lane to have them applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from oneapi.relay.protocols.openai_chat import DEFAULT_REASONING_FORMAT, REASONING_FIELDS, ReasoningFormat

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})
_FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


@dataclass(frozen=True)
class ClientOptions:
    thinking: bool | None = None
    reasoning_effort: str | None = None
    reasoning_format: ReasoningFormat = DEFAULT_REASONING_FORMAT
    headers: dict[str, str] = field(default_factory=dict)  # protocol headers worth forwarding
    switched: bool = False  # a URL switch was given (see the module docstring)


NO_OPTIONS = ClientOptions()


def client_options(query: Mapping[str, str], headers: Mapping[str, str]) -> ClientOptions:
    forwarded = {name: headers[name] for name in _FORWARDED_HEADERS if headers.get(name)}
    if not query:
        return ClientOptions(headers=forwarded) if forwarded else NO_OPTIONS
    switch = (query.get("thinking") or "").strip().lower()
    thinking = True if switch in _ON else False if switch in _OFF else None
    wanted = (query.get("reasoning_format") or "").strip().lower()
    fmt: ReasoningFormat = DEFAULT_REASONING_FORMAT
    for name in REASONING_FIELDS:
        if wanted == name:
            fmt = name
    effort = (query.get("reasoning_effort") or "").strip().lower() or None
    switched = thinking is not None or effort is not None or wanted in REASONING_FIELDS
    return ClientOptions(
        thinking=thinking, reasoning_effort=effort, reasoning_format=fmt, headers=forwarded, switched=switched
    )
