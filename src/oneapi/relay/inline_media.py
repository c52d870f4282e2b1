"""Remote images in a converted request, downloaded and inlined for upstreams that take only data.

Gemini reads `fileData` only from its own Files API, so an `https://…` image a caller points at
must travel as `inlineData`. `inline_remote_images` fetches every http(s) image URL of a request
(each URL once, all at the same time), through USER_CONTENT_REQUEST_PROXY when it is set, within
USER_CONTENT_REQUEST_TIMEOUT seconds, and refuses any image over MAX_INLINE_IMAGE_SIZE_MB (0 means
the default 16) before reading past the limit. Anything that goes wrong is the caller's 400,
naming the URL and the reason; the upstream is never called with a request it cannot read.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator

import aiohttp

from oneapi.config import Settings
from oneapi.relay import ir
from oneapi.relay.errors import RelayError

DEFAULT_LIMIT_MB = 16
CHUNK = 64 * 1024
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class InlineError(Exception):
    """Why one URL could not be inlined (the message is for the caller)."""


def sniff_image_type(data: bytes) -> str | None:
    """The image type its first bytes announce (PNG, JPEG, GIF, WebP, HEIC/HEIF), else None."""
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"heif"):
        return "image/heic" if data[8:12] in (b"heic", b"heix") else "image/heif"
    return None


def remote_images(req: ir.Request, keep: Callable[[str], bool]) -> Iterator[ir.ImagePart]:
    """The image parts of `req` (tool results included) given by an http(s) URL `keep` accepts."""
    for message in req.messages:
        for part in message.content:
            inner = part.content if isinstance(part, ir.ToolResultPart) else [part]
            for item in inner:
                if (
                    isinstance(item, ir.ImagePart)
                    and item.data is None
                    and item.url
                    and item.url.lower().startswith(("http://", "https://"))
                    and keep(item.url)
                ):
                    yield item


async def inline_remote_images(
    req: ir.Request, http: aiohttp.ClientSession, settings: Settings, keep: Callable[[str], bool]
) -> None:
    """Replace each remote image URL `keep` accepts with its bytes (base64) and media type."""
    parts = list(remote_images(req, keep))
    if not parts:
        return
    limit = (settings.max_inline_image_size_mb or DEFAULT_LIMIT_MB) * 1024 * 1024
    urls = list(dict.fromkeys(part.url or "" for part in parts))
    results = await asyncio.gather(
        *(fetch_image(http, url, limit, settings) for url in urls), return_exceptions=True
    )
    fetched: dict[str, tuple[str, str]] = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, InlineError):
            raise RelayError(
                400, f"image {_short(url)} could not be used: {result}", "invalid_image_url",
                type="invalid_request_error",
            )  # fmt: skip
        if isinstance(result, BaseException):
            raise result
        fetched[url] = result
    for part in parts:
        part.media_type, part.data = fetched[part.url or ""]
        part.url = None


async def fetch_image(
    http: aiohttp.ClientSession, url: str, limit: int, settings: Settings
) -> tuple[str, str]:
    """(media type, base64 data) of the image at `url`, or InlineError."""
    timeout = aiohttp.ClientTimeout(total=settings.user_content_request_timeout or None)
    try:
        async with http.get(
            url,
            headers={"Accept": "image/*", "Accept-Encoding": "identity"},
            timeout=timeout,
            proxy=settings.user_content_request_proxy or None,
        ) as resp:
            if resp.status != 200:
                raise InlineError(f"the server answered HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > limit:
                raise InlineError(_too_big(limit))
            data = bytearray()
            async for chunk in resp.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > limit:
                    raise InlineError(_too_big(limit))
            declared = resp.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    except TimeoutError:
        raise InlineError("fetching it timed out") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise InlineError(f"fetching it failed ({type(exc).__name__})") from None
    if not data:
        raise InlineError("it is empty")
    media_type = sniff_image_type(bytes(data[:16])) or (declared if declared.startswith("image/") else None)
    if media_type is None:
        raise InlineError(f"it is not an image (content type {declared or 'unknown'})")
    return media_type, base64.b64encode(data).decode("ascii")


def _too_big(limit: int) -> str:
    return f"it is larger than MAX_INLINE_IMAGE_SIZE_MB ({limit // (1024 * 1024)} MB)"


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:197] + "..."
