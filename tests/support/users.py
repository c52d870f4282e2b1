"""Helpers for user-account tests: read user rows, store options, prove no secret leaks out."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from tests.support.rows import quoted

SECRET_KEYS = {"password", "access_token", "totp_secret", "verification_code"}


def user_row(db: sa.Engine, username: str) -> sa.RowMapping:
    with db.connect() as conn:
        return (
            conn.execute(sa.text("SELECT * FROM users WHERE username = :u"), {"u": username}).mappings().one()
        )


def user_by_id(db: sa.Engine, user_id: int) -> sa.RowMapping:
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM users WHERE id = :i"), {"i": user_id}).mappings().one()


def store_option(db: sa.Engine, key: str, value: str) -> None:
    """Write an option row as One API would; a server started afterwards loads it."""
    k = quoted(db, "key")
    with db.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM options WHERE {k} = :k"), {"k": key})
        conn.execute(sa.text(f"INSERT INTO options ({k}, value) VALUES (:k, :v)"), {"k": key, "v": value})


def _secret_values(db: sa.Engine) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT password, access_token, totp_secret FROM users")).all()
    return [value for row in rows for value in row if value]


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def no_secrets(response: httpx.Response, db: sa.Engine) -> Any:
    """The decoded body, after checking it names no secret field and holds no user's secret value."""
    body = response.json()
    assert not _keys(body) & SECRET_KEYS, body
    for secret in _secret_values(db):
        assert secret not in response.text
    return body
