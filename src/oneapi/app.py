"""build_app(settings) → the ASGI app: management API on /api, relay on /v1, console at /."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from oneapi import __version__, heap
from oneapi.api import channels, logs, options, payments, redemptions, status, tokens, totp, user_admin, users
from oneapi.api import oauth as oauth_api
from oneapi.api import signup as signup_api
from oneapi.api.admin_tokens import router as admin_tokens_router
from oneapi.api.catalog import router as catalog_router
from oneapi.api.channel_health import router as channel_health_router
from oneapi.api.channel_pricing import router as channel_pricing_router
from oneapi.api.errors import ApiError, JsonResponse, fail_response
from oneapi.api.misc import router as misc_router
from oneapi.api.openapi_doc import install_openapi
from oneapi.api.passkeys import router as passkeys_router
from oneapi.api.relay_keys import router as relay_keys_router
from oneapi.cache.ratelimit import RateLimits, RedisRateLimiter
from oneapi.cache.redis_client import close_redis, open_redis
from oneapi.config import Settings
from oneapi.db.engine import open_database
from oneapi.db.migrate import run_migrations
from oneapi.front import RelayFront
from oneapi.ratelimit_middleware import RateLimitMiddleware
from oneapi.relay.routes import RELAY_ROUTES
from oneapi.relay.runtime import RelayRuntime
from oneapi.request_id import RequestIdMiddleware
from oneapi.services.bootstrap import create_root_if_needed
from oneapi.services.channel_test import start_channel_jobs
from oneapi.services.keys import now_s
from oneapi.services.options import OptionStore
from oneapi.state import AppState

log = logging.getLogger(__name__)


def session_secret_of(settings: Settings) -> str:
    if settings.session_secret and settings.session_secret != "random_string":
        return settings.session_secret
    if settings.session_secret == "random_string":
        log.warning("SESSION_SECRET is the placeholder 'random_string': set a real secret")
        return settings.session_secret
    log.warning("SESSION_SECRET is not set: using a random one, sessions end when the process restarts")
    return secrets.token_urlsafe(32)


async def _sync_options_forever(state: AppState) -> None:
    while True:
        await asyncio.sleep(max(1, state.settings.sync_frequency))
        try:
            await state.options.sync()
        except Exception:  # a failed sync must not end the loop; the next one retries
            log.exception("option sync failed")


async def start_state(settings: Settings) -> AppState:
    """Open the database, migrate (master only), load options, bootstrap root."""
    db = open_database(settings)
    if not settings.is_slave:
        await run_migrations(db)
    store = OptionStore(db.main)
    await store.sync()
    if not settings.is_slave:
        await create_root_if_needed(db.main, settings)
    return AppState(
        settings=settings,
        db=db,
        options=store,
        session_secret=session_secret_of(settings),
        start_time=now_s(),
    )


def _invalid_url(request: Request, status_code: int) -> JsonResponse:
    message = f"Invalid URL ({request.method} {request.url.path})"
    body = {"error": {"message": message, "type": "invalid_request_error", "param": "", "code": ""}}
    return JsonResponse(body, status_code=status_code)


def build_app(settings: Settings) -> RelayFront:
    rate_limits = RateLimits(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await start_state(settings)
        state.redis = await open_redis(settings)
        state.rate_limits = rate_limits.use(RedisRateLimiter(state.redis)) if state.redis else rate_limits
        state.relay = await RelayRuntime.start(state.db, settings)
        app.state.oneapi = state
        sync_task = asyncio.create_task(_sync_options_forever(state))
        channel_jobs = start_channel_jobs(state)
        heap.settle_after_start()  # the start-up heap is never scanned again
        try:
            yield
        finally:
            sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sync_task
            await channel_jobs.close()
            await state.relay.close()
            await close_redis(state.redis)
            await state.db.dispose()

    app = FastAPI(
        title="One API (Python)",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        default_response_class=JsonResponse,
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return fail_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return fail_response(ApiError(f"invalid parameter: {where}" if where else "invalid parameter"))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if exc.status_code in (404, 405) and (path.startswith("/api") or path.startswith("/v1")):
            return _invalid_url(request, exc.status_code)
        if exc.status_code == 404:
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return fail_response(ApiError("internal error: " + type(exc).__name__, 500))

    app.include_router(channel_health_router)  # before channels: /api/channel/test is not a channel id
    app.include_router(channel_pricing_router)
    app.include_router(admin_tokens_router)
    app.include_router(catalog_router)
    for module in (status, users, user_admin, totp, tokens, channels, options, logs, redemptions):
        app.include_router(module.router)
    app.include_router(relay_keys_router)
    app.include_router(signup_api.router)
    app.include_router(oauth_api.router)
    app.include_router(misc_router)
    app.include_router(payments.router)
    app.include_router(passkeys_router)
    app.router.routes.extend(RELAY_ROUTES)
    install_openapi(app, RELAY_ROUTES)
    app.add_middleware(RateLimitMiddleware, limits=rate_limits, key_prefix=settings.token_key_prefix)
    app.add_middleware(RequestIdMiddleware)  # added last = outermost: the limiter sees its id
    return RelayFront(app, RELAY_ROUTES, rate_limits, settings.token_key_prefix)
