"""Turn One API's database DSNs (and plain SQLAlchemy URLs) into async SQLAlchemy URLs.

One API accepts `postgres://user:pass@host/db?sslmode=disable` for PostgreSQL and Go's MySQL form
`user:pass@tcp(host:3306)/db?charset=utf8mb4&parseTime=True` for MySQL; an empty DSN means SQLite.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_GO_MYSQL = re.compile(
    r"^(?:(?P<user>[^:@/]*)(?::(?P<password>.*))?@)?"
    r"(?:(?P<net>[a-z0-9]+)(?:\((?P<addr>[^)]*)\))?)?"
    r"/(?P<db>[^?]*)(?:\?(?P<params>.*))?$"
)

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mysql+pymysql": "mysql+aiomysql",
    "mysql+mysqldb": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "mariadb+pymysql": "mysql+aiomysql",
}

# libpq's sslmode has no asyncpg keyword of that name; asyncpg takes `ssl` with the same words.
_PG_SSLMODE = {
    "disable": None,
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}
_MYSQL_KEEP_PARAMS = {"charset"}


class DsnError(ValueError):
    """The DSN is in none of the accepted forms."""


def sqlite_url(path: str) -> str:
    """An aiosqlite URL for a file path, creating the parent folder so a fresh checkout just works."""
    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{file}"


def to_async_url(dsn: str, sqlite_path: str) -> str:
    """Map an empty DSN, a One API DSN or a SQLAlchemy URL to an async SQLAlchemy URL."""
    dsn = dsn.strip()
    if not dsn:
        return sqlite_url(sqlite_path)
    if "://" in dsn:
        return _from_url(dsn)
    return _from_go_mysql(dsn)


def backend_of(url: str) -> str:
    """'sqlite', 'postgresql' or 'mysql' for an async URL made by `to_async_url`."""
    return url.split("+", 1)[0].split(":", 1)[0]


def _from_url(dsn: str) -> str:
    parts = urlsplit(dsn)
    scheme = parts.scheme.lower()
    driver = _ASYNC_DRIVERS.get(scheme, scheme)
    if driver.startswith("sqlite"):
        return driver + dsn[len(parts.scheme) :]
    if not (driver.startswith("postgresql") or driver.startswith("mysql")):
        raise DsnError(f"unsupported database scheme {parts.scheme!r}: use SQLite, PostgreSQL or MySQL")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if driver.startswith("postgresql"):
        mode = query.pop("sslmode", None)
        if mode is not None:
            if mode not in _PG_SSLMODE:
                raise DsnError(f"unsupported sslmode {mode!r}")
            if _PG_SSLMODE[mode]:
                query["ssl"] = _PG_SSLMODE[mode] or ""
    else:
        query = {k: v for k, v in query.items() if k in _MYSQL_KEEP_PARAMS}
        query.setdefault("charset", "utf8mb4")
    return urlunsplit((driver, parts.netloc, parts.path, urlencode(query), ""))


def _from_go_mysql(dsn: str) -> str:
    match = _GO_MYSQL.match(dsn)
    if not match:
        raise DsnError(
            "SQL_DSN is neither a URL (postgres://…, mysql://…) nor a Go MySQL DSN "
            "(user:password@tcp(host:3306)/database)"
        )
    user = match.group("user") or "root"
    password = match.group("password")
    net = match.group("net") or "tcp"
    addr = match.group("addr") or "127.0.0.1:3306"
    if net not in ("tcp", "tcp6"):
        raise DsnError(f"unsupported MySQL network {net!r} in SQL_DSN: use tcp(host:port)")
    params = dict(parse_qsl(match.group("params") or "", keep_blank_values=True))
    charset = params.get("charset", "utf8mb4").split(",")[0]
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"mysql+aiomysql://{auth}@{addr}/{match.group('db')}?charset={charset}"
