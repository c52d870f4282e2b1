"""The Gemini provider (type 24): URLs and versions, the key header, and its body adjustments."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import orjson
import pytest

from oneapi.config import Settings
from oneapi.relay import ir
from oneapi.relay.channel import Channel
from oneapi.relay.codecs import CODECS, GEMINI, OPENAI_CHAT
from oneapi.relay.errors import RelayError
from oneapi.relay.modes import Mode
from oneapi.relay.providers.gemini import GeminiProvider, can_think, has_system_instruction, needs_v1beta
from oneapi.relay.providers.registry import provider_for
from tests.support.fake_gemini import ImageHost

GOOGLE = "https://generativelanguage.googleapis.com"


def channel(base_url: str = "", key: str = "g-key", **extra: Any) -> Channel:
    row: dict[str, Any] = {"id": 3, "type": 24, "name": "g", "key": key, "status": 1, "base_url": base_url}
    if "config" in extra:
        row["config"] = orjson.dumps(extra.pop("config")).decode()
    row.update(extra)
    return Channel.from_row(row)


def settings(**overrides: Any) -> Settings:
    return replace(Settings(), **overrides)


def gemini_body(model: str, **chat: Any) -> dict[str, Any]:
    """The body convert.py would send for a Chat request, before the provider's adjustments."""
    req = CODECS[OPENAI_CHAT].read_request({"model": model, **chat})
    req.model = model
    return CODECS[GEMINI].write_request(req)


def url_of(ch: Channel, model: str, stream: bool = False, **overrides: Any) -> str:
    provider = provider_for(24)
    path = provider.path_for(ch, GEMINI, model, stream, settings(**overrides))
    return provider.prepare(ch, path, model, Mode.CHAT).url


def test_type_24_is_gemini_and_type_51_stays_openai() -> None:
    assert isinstance(provider_for(24), GeminiProvider)
    assert provider_for(24).protocols(channel(), "gemini-2.5-flash") == ("gemini",)
    compatible = provider_for(51)
    assert compatible.native_protocol == "openai_chat"
    call = compatible.prepare(channel(), "/v1/chat/completions", "gemini-2.5-flash", Mode.CHAT)
    assert call.url == GOOGLE + "/v1beta/openai/chat/completions"
    assert call.headers == {"Authorization": "Bearer g-key"}


@pytest.mark.parametrize(
    ("model", "version"),
    [
        ("gemini-2.5-flash", "v1beta"),
        ("gemini-1.5-pro", "v1beta"),
        ("gemini-3-pro-preview", "v1beta"),
        ("gemini-2.0-flash-thinking-exp-01-21", "v1beta"),
        ("gemini-flash-latest", "v1beta"),
        ("gemma-3-27b-it", "v1beta"),
        ("gemini-pro", "v1"),
        ("gemini-1.0-pro", "v1"),
        ("text-embedding-004", "v1"),
    ],
)
def test_version_follows_the_model_then_gemini_version(model: str, version: str) -> None:
    assert url_of(channel(), model) == f"{GOOGLE}/{version}/models/{model}:generateContent"
    assert needs_v1beta(model) is (version == "v1beta")


def test_stream_url_and_key_header() -> None:
    ch = channel()
    provider = provider_for(24)
    path = provider.path_for(ch, GEMINI, "gemini-2.5-pro", True, settings())
    call = provider.prepare(ch, path, "gemini-2.5-pro", Mode.CLAUDE_MESSAGES)
    assert call.url == f"{GOOGLE}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert call.headers == {"x-goog-api-key": "g-key"}


def test_configured_version_wins_then_the_base_urls_own() -> None:
    assert url_of(channel(config={"api_version": "v1alpha"}), "gemini-2.5-flash").endswith(
        "/v1alpha/models/gemini-2.5-flash:generateContent"
    )
    assert (
        url_of(channel(other="v1"), "gemini-2.5-flash")
        == f"{GOOGLE}/v1/models/gemini-2.5-flash:generateContent"
    )
    for base in (f"{GOOGLE}/v1beta", f"{GOOGLE}/v1beta/", f"{GOOGLE}/v1beta/openai"):
        assert url_of(channel(base), "gemini-pro") == f"{GOOGLE}/v1beta/models/gemini-pro:generateContent"
    assert url_of(channel("https://proxy.example/g/v1"), "gemini-2.5-flash") == (
        "https://proxy.example/g/v1/models/gemini-2.5-flash:generateContent"
    )
    assert url_of(channel(), "gemini-pro", gemini_version="v1beta").endswith(
        "/v1beta/models/gemini-pro:generateContent"
    )


def test_model_prefixes_and_odd_characters() -> None:
    assert url_of(channel(), "models/gemini-2.5-flash").endswith(
        "/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert url_of(channel(), "tunedModels/my-model-1").endswith("/tunedModels/my-model-1:generateContent")
    assert url_of(channel(), "gemini-2.5-flash?x=1#y").endswith(
        "/models/gemini-2.5-flash%3Fx%3D1%23y:generateContent"
    )


def test_other_requests_use_the_openai_compatible_surface_with_a_bearer_key() -> None:
    call = provider_for(24).prepare(
        channel(f"{GOOGLE}/v1beta"), "/v1/embeddings", "gemini-embedding-001", Mode.EMBEDDINGS
    )
    assert call.url == f"{GOOGLE}/v1beta/openai/embeddings"
    assert call.headers == {"Authorization": "Bearer g-key"}
    body = {"model": "gemini-embedding-001", "input": "x"}
    assert not provider_for(24).adjust_body(body, "gemini-embedding-001", Mode.EMBEDDINGS, settings())
    assert body == {"model": "gemini-embedding-001", "input": "x"}


def test_custom_headers_are_sent_but_never_replace_the_key() -> None:
    ch = channel(config={"custom_headers": {"X-Trace": "1", "x-goog-api-key": "nope"}})
    call = provider_for(24).prepare(ch, "/v1beta/models/m:generateContent", "m", Mode.CHAT)
    assert call.headers == {"X-Trace": "1", "x-goog-api-key": "g-key"}


def test_safety_settings_cover_five_categories() -> None:
    body = gemini_body("gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert provider_for(24).adjust_body(
        body, "gemini-2.5-flash", Mode.CHAT, settings(gemini_safety_setting="BLOCK_ONLY_HIGH")
    )
    assert [s["category"] for s in body["safetySettings"]] == [
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    ]
    assert {s["threshold"] for s in body["safetySettings"]} == {"BLOCK_ONLY_HIGH"}
    plain = gemini_body("gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert not provider_for(24).adjust_body(
        plain, "gemini-2.5-flash", Mode.CHAT, settings(gemini_safety_setting="")
    )
    assert "safetySettings" not in plain


def test_gemma_gets_the_system_prompt_as_a_first_user_turn() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    body = gemini_body("gemma-3-27b-it", messages=messages)
    assert "systemInstruction" in body
    provider_for(24).adjust_body(body, "gemma-3-27b-it", Mode.CHAT, settings())
    assert "systemInstruction" not in body
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Be brief."}]},
        {"role": "model", "parts": [{"text": "Okay"}]},
        {"role": "user", "parts": [{"text": "hi"}]},
    ]
    kept = gemini_body("gemini-2.5-flash", messages=messages)
    provider_for(24).adjust_body(kept, "gemini-2.5-flash", Mode.CHAT, settings())
    assert kept["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert has_system_instruction("gemini-2.5-flash") and not has_system_instruction("gemma-3n-e4b-it")


@pytest.mark.parametrize(("top_p", "kept"), [(0.5, True), (0, True), (1, True), (1.5, False), (-0.1, False)])
def test_top_p_outside_zero_to_one_is_dropped(top_p: float, kept: bool) -> None:
    body = gemini_body(
        "gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], top_p=top_p, temperature=0.3
    )
    provider_for(24).adjust_body(body, "gemini-2.5-flash", Mode.CHAT, settings())
    assert ("topP" in body["generationConfig"]) is kept
    assert body["generationConfig"]["temperature"] == 0.3


def test_thinking_is_left_out_for_models_that_cannot_think_and_budgets_are_clamped() -> None:
    def adjusted(model: str, config: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"contents": [], "generationConfig": {"thinkingConfig": dict(config)}}
        provider_for(24).adjust_body(body, model, Mode.CHAT, settings())
        return dict(body.get("generationConfig", {}).get("thinkingConfig", {"absent": True}))

    assert adjusted("gemini-2.0-flash", {"thinkingBudget": -1}) == {"absent": True}
    assert adjusted("gemma-3-27b-it", {"thinkingBudget": -1}) == {"absent": True}
    assert adjusted("gemini-2.0-flash-thinking-exp", {"thinkingBudget": -1}) == {"thinkingBudget": -1}
    assert adjusted("gemini-2.5-pro", {"thinkingBudget": 0}) == {"thinkingBudget": 128}
    assert adjusted("gemini-2.5-pro", {"thinkingBudget": 50000, "includeThoughts": True}) == {
        "thinkingBudget": 32768,
        "includeThoughts": True,
    }
    assert adjusted("gemini-2.5-flash", {"thinkingBudget": 0}) == {"thinkingBudget": 0}
    assert adjusted("gemini-2.5-flash-lite", {"thinkingBudget": 100}) == {"thinkingBudget": 512}
    assert adjusted("gemini-3-pro-preview", {"thinkingLevel": "low"}) == {"thinkingLevel": "low"}
    assert can_think("gemini-2.5-flash") and can_think("gemini-3-flash") and not can_think("gemini-1.5-pro")


def test_image_models_ask_for_text_and_images() -> None:
    body = gemini_body("gemini-2.5-flash-image", messages=[{"role": "user", "content": "a cat"}])
    provider_for(24).adjust_body(body, "gemini-2.5-flash-image", Mode.CHAT, settings())
    assert body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]


def test_files_api_uris_are_left_as_they_are() -> None:
    uri = f"{GOOGLE}/v1beta/files/abc123"
    req = ir.Request(model="gemini-2.5-flash", messages=[ir.Message(ir.Role.USER, [ir.ImagePart(url=uri)])])
    asyncio.run(provider_for(24).prepare_request(req, None, settings()))  # type: ignore[arg-type]
    part = req.messages[0].content[0]
    assert isinstance(part, ir.ImagePart) and part.url == uri and part.data is None


def _inline(urls: list[str], **overrides: Any) -> ir.Request:
    """A request with these image URLs, after the provider inlined them over real HTTP."""
    req = ir.Request(
        model="gemini-2.5-flash",
        messages=[ir.Message(ir.Role.USER, [ir.ImagePart(url=url) for url in urls])],
    )

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            await provider_for(24).prepare_request(req, http, settings(**overrides))

    asyncio.run(run())
    return req


@pytest.fixture
def images() -> Iterator[ImageHost]:
    host = ImageHost().start()
    yield host
    host.stop()


def test_remote_images_are_inlined_by_their_bytes(images: ImageHost) -> None:
    webp = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"x" * 20
    images.files["/a"] = ("application/octet-stream", webp)
    images.files["/b.heic"] = ("image/heic", b"\x00\x00\x00\x18ftypheic" + b"y" * 8)
    req = _inline([f"{images.url}/a", f"{images.url}/b.heic"])
    parts = req.messages[0].content
    assert parts == [
        ir.ImagePart(data=base64.b64encode(webp).decode(), media_type="image/webp"),
        ir.ImagePart(data=base64.b64encode(images.files["/b.heic"][1]).decode(), media_type="image/heic"),
    ]


def test_an_image_over_the_limit_is_refused_before_it_is_read(images: ImageHost) -> None:
    images.files["/big.png"] = ("image/png", b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024))
    with pytest.raises(RelayError) as caught:
        _inline([f"{images.url}/big.png"], max_inline_image_size_mb=1)
    assert caught.value.status == 400 and caught.value.type == "invalid_request_error"
    assert "larger than MAX_INLINE_IMAGE_SIZE_MB (1 MB)" in caught.value.message
    assert _inline([f"{images.url}/big.png"], max_inline_image_size_mb=2).messages[0].content[0].data  # type: ignore[union-attr]


def test_an_unreachable_image_is_the_callers_400() -> None:
    with pytest.raises(RelayError) as caught:
        _inline(["http://127.0.0.1:9/nothing.png"], user_content_request_timeout=5)
    assert caught.value.status == 400 and "fetching it failed" in caught.value.message
