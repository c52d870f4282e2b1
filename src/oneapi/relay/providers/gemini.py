"""Google Gemini (type 24): `generateContent` at `{base}/{version}/models/{model}:…` (SPEC §6.8).

Conversational requests are converted to Gemini's own format and go to `…:generateContent`, or
`…:streamGenerateContent?alt=sse` when streamed, with the key in `x-goog-api-key`. Other requests
(embeddings, image generation) go to Gemini's OpenAI-compatible surface `{base}/v1beta/openai/…`
with the key as a Bearer token, which takes OpenAI bodies as they are.

The API version, first that applies:
1. the channel's `config.api_version` (One API's legacy `other` column included);
2. a version the base URL already ends in (`…/v1beta`), which is then not repeated;
3. `v1beta` for the models whose request fields only v1beta knows (system instruction, tools,
   thinking, JSON schemas): every Gemini from 1.5 on, experimental, preview, `-latest` and
   thinking models, Gemma and LearnLM;
4. GEMINI_VERSION (default `v1`), i.e. for Gemini 1.0 / `gemini-pro` and the embedding models.

Body adjustments on the converted request (`adjust_body`):
- `safetySettings`: the five harm categories at GEMINI_SAFETY_SETTING (empty: none sent);
- models without a system instruction (Gemma, Gemini 1.0) get it as a first user turn answered
  by "Okay";
- `topP` outside [0, 1] is dropped;
- thinking: models that cannot think (Gemini 1.x and 2.0, Gemma) get no `thinkingConfig`;
  budgets are clamped to what Gemini 2.5 takes (Pro cannot turn thinking off: its least is 128);
- image-output models are asked for text and images (`responseModalities`).

`prepare_request` downloads remote http(s) images and inlines them (`inline_media`); Gemini reads
`fileData` only from its own Files API, whose URIs are left alone.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from oneapi.config import Settings
from oneapi.relay import ir
from oneapi.relay.channel import Channel
from oneapi.relay.inline_media import inline_remote_images
from oneapi.relay.modes import Mode
from oneapi.relay.protocols.gemini_request import SAFETY_CATEGORIES, inline_system
from oneapi.relay.providers.base import ChannelConfigError, Provider, UpstreamCall
from oneapi.relay.providers.paths import replace_v1

CONVERSATIONAL = frozenset({Mode.CHAT, Mode.CLAUDE_MESSAGES, Mode.RESPONSES})
OPENAI_SURFACE = "/v1beta/openai"
FILES_HOST = "generativelanguage.googleapis.com"
_BASE_VERSION = re.compile(r"/(v\d+(?:alpha|beta)?\d*)(?:/openai)?$", re.IGNORECASE)
_GEMINI_NUMBER = re.compile(r"^gemini-(\d+(?:\.\d+)?)")
_BETA_MARKERS = ("preview", "exp", "thinking", "latest")
# Thinking budgets Gemini 2.5 takes: (model prefix, 0 allowed, least when on, most).
_BUDGETS = (
    ("gemini-2.5-pro", False, 128, 32768),
    ("gemini-2.5-flash-lite", True, 512, 24576),
    ("gemini-2.5-flash", True, 1, 24576),
)


def model_name(model: str) -> str:
    """The bare lower-case model id (`models/` and vendor prefixes dropped)."""
    return model.lower().rsplit("/", 1)[-1]


def gemini_number(model: str) -> float | None:
    """1.5 for gemini-1.5-pro, 2.5 for gemini-2.5-flash; None for other names."""
    match = _GEMINI_NUMBER.match(model_name(model))
    return float(match.group(1)) if match else None


def needs_v1beta(model: str) -> bool:
    name = model_name(model)
    if name.startswith(("gemma", "learnlm")) or any(marker in name for marker in _BETA_MARKERS):
        return True
    number = gemini_number(name)
    return number is not None and number >= 1.5


def has_system_instruction(model: str) -> bool:
    name = model_name(model)
    return not (
        name.startswith("gemma")
        or name in ("gemini-pro", "gemini-pro-vision")
        or name.startswith("gemini-1.0")
    )


def can_think(model: str) -> bool:
    name = model_name(model)
    if "thinking" in name:
        return True
    if name.startswith("gemma") or name in ("gemini-pro", "gemini-pro-vision"):
        return False
    number = gemini_number(name)
    return number is None or number >= 2.5


def makes_images(model: str) -> bool:
    name = model_name(model)
    return name.startswith("gemini") and "image" in name and "imagen" not in name


class GeminiProvider(Provider):
    native_protocol = "gemini"

    def __init__(
        self, name: str = "gemini", default_base_url: str = "https://generativelanguage.googleapis.com"
    ) -> None:
        self.name = name
        self.default_base_url = default_base_url

    # ---- addresses ---------------------------------------------------------------------------

    def _split_base(self, channel: Channel) -> tuple[str, str | None]:
        """(base URL without a trailing API version, that version or None)."""
        base = (channel.base_url or self.default_base_url).rstrip("/")
        if not base:
            raise ChannelConfigError(f"channel #{channel.id} ({self.name}) has no base URL configured")
        match = _BASE_VERSION.search(base)
        if match is None:
            return base, None
        return base[: match.start()], match.group(1).lower()

    def base_url(self, channel: Channel) -> str:
        return self._split_base(channel)[0]

    def api_version(self, channel: Channel, model: str, settings: Settings) -> str:
        configured = str(channel.config.get("api_version") or "").strip()
        if configured:
            return configured
        in_base = self._split_base(channel)[1]
        if in_base:
            return in_base
        return "v1beta" if needs_v1beta(model) else (settings.gemini_version or "v1")

    def path_for(self, channel: Channel, protocol: str, model: str, stream: bool, settings: Settings) -> str:
        version = self.api_version(channel, model, settings)
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        if model.startswith("tunedModels/"):
            resource = "tunedModels/" + quote(model.removeprefix("tunedModels/"), safe="-._~")
        else:
            resource = "models/" + quote(model.removeprefix("models/"), safe="-._~")
        return f"/{version}/{resource}:{action}"

    def url(self, channel: Channel, path: str, model: str, mode: Mode) -> str:
        if mode in CONVERSATIONAL:
            return self.base_url(channel) + path
        return self.base_url(channel) + replace_v1(path, OPENAI_SURFACE)

    def prepare(self, channel: Channel, path: str, model: str, mode: Mode) -> UpstreamCall:
        auth = (
            {"x-goog-api-key": channel.key}
            if mode in CONVERSATIONAL
            else {"Authorization": f"Bearer {channel.key}"}
        )
        return UpstreamCall(
            url=self.url(channel, path, model, mode), headers={**self.extra_headers(channel), **auth}
        )

    def auth_headers(self, channel: Channel) -> dict[str, str]:
        return {"x-goog-api-key": channel.key}

    # ---- bodies ------------------------------------------------------------------------------

    async def prepare_request(self, req: ir.Request, http: aiohttp.ClientSession, settings: Settings) -> None:
        await inline_remote_images(req, http, settings, keep=lambda url: urlsplit(url).hostname != FILES_HOST)

    def adjust_body(self, body: dict[str, Any], model: str, mode: Mode, settings: Settings) -> bool:
        if mode not in CONVERSATIONAL or "contents" not in body:
            return False  # an OpenAI body for the OpenAI-compatible surface: as it is
        changed = False
        threshold = settings.gemini_safety_setting.strip()
        if threshold and "safetySettings" not in body:
            body["safetySettings"] = [{"category": c, "threshold": threshold} for c in SAFETY_CATEGORIES]
            changed = True
        if not has_system_instruction(model):
            changed |= inline_system(body)
        generation = body.get("generationConfig")
        if isinstance(generation, dict):
            changed |= _adjust_generation(generation, model)
            if not generation:
                del body["generationConfig"]
        elif makes_images(model):
            body["generationConfig"] = {"responseModalities": ["TEXT", "IMAGE"]}
            changed = True
        return changed


def _adjust_generation(generation: dict[str, Any], model: str) -> bool:
    changed = False
    top_p = generation.get("topP")
    if isinstance(top_p, int | float) and not 0 <= top_p <= 1:
        del generation["topP"]
        changed = True
    if "thinkingConfig" in generation:
        if not can_think(model):
            del generation["thinkingConfig"]
            changed = True
        else:
            changed |= _clamp_budget(generation["thinkingConfig"], model)
    if makes_images(model) and "responseModalities" not in generation:
        generation["responseModalities"] = ["TEXT", "IMAGE"]
        changed = True
    return changed


def _clamp_budget(config: Any, model: str) -> bool:
    """A thinking budget Gemini 2.5 accepts: within its range, -1 (automatic) kept."""
    if not isinstance(config, dict):
        return False
    budget = config.get("thinkingBudget")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget == -1:
        return False
    name = model_name(model)
    for prefix, may_stop, least, most in _BUDGETS:
        if name.startswith(prefix):
            if budget == 0 and may_stop:
                return False
            clamped = min(max(budget, least), most)
            if clamped != budget:
                config["thinkingBudget"] = clamped
                return True
            return False
    return False
