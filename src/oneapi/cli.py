"""The `one-api` command: serve (default), migrate, env, version."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys

from oneapi import __version__
from oneapi.config import ConfigError, Settings


def _settings_or_exit() -> Settings:
    """The settings, or exit 2 with one line naming the bad variable (DSNs included)."""
    from oneapi.db.dsn import DsnError, to_async_url

    try:
        settings = Settings.from_env()
        for name, dsn in (("SQL_DSN", settings.sql_dsn), ("LOG_SQL_DSN", settings.log_sql_dsn)):
            try:
                if dsn:
                    to_async_url(dsn, settings.sqlite_path)
            except DsnError as exc:
                raise ConfigError(f"{name}: {exc}") from None
        return settings
    except ConfigError as exc:
        print(f"one-api: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings_or_exit()
    port = args.port or settings.port
    workers = args.workers or settings.workers or 1
    if not settings.session_secret:
        # Every worker must sign cookies with the same secret, so pick one here, once.
        logging.getLogger("oneapi").warning(
            "SESSION_SECRET is not set: using a random one, sessions end when the process restarts"
        )
        os.environ["SESSION_SECRET"] = secrets.token_urlsafe(32)
    uvicorn.run(
        "oneapi.asgi:app",
        host=args.host,
        port=port,
        workers=workers,
        factory=False,
        loop="uvloop",
        http="httptools",
        log_level="debug" if settings.debug else "info",
        access_log=settings.debug,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from oneapi.db.migrate import migrate_database

    asyncio.run(migrate_database(_settings_or_exit()))
    print("migrations applied")
    return 0


def _env(_args: argparse.Namespace) -> int:
    for name, default, note in Settings.describe():
        print(f"{name:45} default {default:22} {note}")
    return 0


def _version(_args: argparse.Namespace) -> int:
    print(__version__)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="one-api",
        description="LLM API gateway compatible with One API. Configured by environment variables "
        "(see `one-api env`).",
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    serve = sub.add_parser("serve", help="start the gateway (default)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=0, help="port (default $PORT or 3000)")
    serve.add_argument("--workers", type=int, default=0, help="worker processes (default $WORKERS or 1)")
    serve.set_defaults(func=_serve)
    sub.add_parser("migrate", help="create or upgrade the database schema, then exit").set_defaults(
        func=_migrate
    )
    sub.add_parser("env", help="list every environment variable with its default").set_defaults(func=_env)
    sub.add_parser("version", help="print the version").set_defaults(func=_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"serve", "migrate", "env", "version", "-h", "--help"}
    if not argv or argv[0] not in commands:
        argv = ["serve", *argv]
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
