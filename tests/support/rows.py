"""Seed rows with plain SQL, the way One API itself would have written them."""

from __future__ import annotations

import uuid

import bcrypt
import sqlalchemy as sa


def quoted(engine: sa.Engine, name: str) -> str:
    """A reserved column name (`key`, `group`) quoted for the engine's dialect."""
    return f"`{name}`" if engine.dialect.name == "mysql" else f'"{name}"'


def insert_user(
    engine: sa.Engine,
    username: str,
    password: str,
    *,
    role: int = 1,
    status: int = 1,
    quota: int = 0,
    group: str = "default",
) -> int:
    """A user row with a bcrypt hash (cost 4 keeps tests fast; any cost verifies); returns its id."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    g = quoted(engine, "group")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO users (username, password, display_name, role, status, quota, "
                f"used_quota, request_count, {g}, access_token, aff_code) VALUES (:u, :p, :u, :r, :s, "
                f":q, 0, 0, :g, :t, :a)"
            ),
            {
                "u": username,
                "p": hashed,
                "r": role,
                "s": status,
                "q": quota,
                "g": group,
                "t": uuid.uuid4().hex,
                "a": uuid.uuid4().hex[:4],
            },
        )
        return int(
            conn.execute(sa.text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one()
        )
