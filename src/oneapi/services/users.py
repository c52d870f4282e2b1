"""User accounts: creation with its default token, self-service changes and soft delete (SPEC §2.1, §3).

Every refusal is a `UserError` carrying One API's English message; the API layer shows it as is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneapi.db.tables import tokens, users
from oneapi.services.keys import aff_code, now_ms, uuid_hex
from oneapi.services.passwords import hash_password
from oneapi.services.roles import ROLE_COMMON, ROLE_ROOT, USER_DELETED, USER_ENABLED
from oneapi.services.token_rows import new_token_values
from oneapi.services.users_query import user_by

USERNAME_TAKEN = "Username already exists"
USER_MISSING = "User does not exist"
MAX_ID = 2**63 - 1
# A 4-character aff_code can collide with an existing one (unique index): draw again this often.
AFF_CODE_ATTEMPTS = 5


class UserError(ValueError):
    """A refused user operation; the message is the one One API gives."""


async def username_in_use(conn: AsyncConnection, username: str, except_id: int | None = None) -> bool:
    stmt = select(users.c.id).where(users.c.username == username)
    if except_id is not None:
        stmt = stmt.where(users.c.id != except_id)
    return (await conn.execute(stmt.limit(1))).first() is not None


async def existing_user(engine: AsyncEngine, user_id: int) -> RowMapping:
    """The row of user `user_id`, or UserError("User does not exist")."""
    row = await user_by(engine, id=user_id) if 0 < user_id <= MAX_ID else None
    if row is None:
        raise UserError(USER_MISSING)
    return row


async def create_user(
    engine: AsyncEngine,
    *,
    username: str,
    password: str,
    quota: int,
    display_name: str = "",
    email: str = "",
    role: int = ROLE_COMMON,
    group: str = "default",
    inviter_id: int | None = None,
) -> int:
    """Insert an enabled user (plain `password` is hashed here) and its unlimited `default` token.

    Both rows are written in one transaction; the user gets a fresh access token and aff code.
    Returns the new user's id; a taken username raises UserError("Username already exists").
    """
    now = now_ms()
    values: dict[str, Any] = {
        "username": username,
        "password": await hash_password(password),
        "display_name": display_name or username,
        "email": email,
        "role": role,
        "status": USER_ENABLED,
        "quota": quota,
        "used_quota": 0,
        "request_count": 0,
        "group": group or "default",
        "access_token": uuid_hex(),
        "aff_code": aff_code(),
        "inviter_id": inviter_id,
        "created_at": now,
        "updated_at": now,
    }
    attempts = AFF_CODE_ATTEMPTS
    while True:
        try:
            return await _insert_user(engine, values)
        except IntegrityError:
            async with engine.connect() as conn:
                if await username_in_use(conn, username):
                    raise UserError(USERNAME_TAKEN) from None
            attempts -= 1
            if not attempts:
                raise
            values["aff_code"] = aff_code()


async def _insert_user(engine: AsyncEngine, values: dict[str, Any]) -> int:
    async with engine.begin() as conn:
        if await username_in_use(conn, values["username"]):
            raise UserError(USERNAME_TAKEN)
        result = await conn.execute(insert(users).values(**values))
        user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        token = new_token_values(user_id, "default", unlimited_quota=True, remain_quota=-1)
        await conn.execute(insert(tokens).values(**token))
    return user_id


def _illegal(field: str, tag: str) -> str:
    """go-playground/validator's text for one failed rule, as One API shows after "Input is illegal "."""
    return f"Key: 'User.{field}' Error:Field validation for '{field}' failed on the '{tag}' tag"


def _check_profile(username: str, password: str | None, display_name: str) -> None:
    problems = []
    if len(username) > 30:
        problems.append(_illegal("Username", "max"))
    if password is not None and len(password) < 8:
        problems.append(_illegal("Password", "min"))
    if password is not None and len(password) > 20:
        problems.append(_illegal("Password", "max"))
    if len(display_name) > 20:
        problems.append(_illegal("DisplayName", "max"))
    if problems:
        raise UserError("Input is illegal " + "\n".join(problems))


async def update_self(
    engine: AsyncEngine,
    user_id: int,
    *,
    username: str | None = None,
    password: str | None = None,
    display_name: str | None = None,
) -> None:
    """The caller's partial profile update: a blank username or password keeps the current one."""
    current = await existing_user(engine, user_id)
    new_username = username if username and username.strip() else current["username"] or ""
    new_password = password or None
    new_display = display_name if display_name is not None else current["display_name"] or ""
    _check_profile(new_username, new_password, new_display)
    values: dict[str, Any] = {
        "username": new_username,
        "display_name": new_display,
        "updated_at": now_ms(),
    }
    if new_password is not None:
        values["password"] = await hash_password(new_password)
    await save_user(engine, user_id, values)


async def save_user(engine: AsyncEngine, user_id: int, values: dict[str, Any]) -> None:
    """UPDATE one user; a username another user holds raises UserError("Username already exists")."""
    try:
        async with engine.begin() as conn:
            if "username" in values and await username_in_use(conn, values["username"], user_id):
                raise UserError(USERNAME_TAKEN)
            await conn.execute(update(users).where(users.c.id == user_id).values(**values))
    except IntegrityError:
        raise UserError(USERNAME_TAKEN) from None


async def soft_delete(engine: AsyncEngine, user_id: int) -> None:
    """One API's delete: status 3 and the username freed as `deleted_<uuid>`; rows are kept."""
    values = {"status": USER_DELETED, "username": f"deleted_{uuid_hex()}", "updated_at": now_ms()}
    async with engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def delete_self(engine: AsyncEngine, user_id: int) -> None:
    current = await existing_user(engine, user_id)
    if current["role"] == ROLE_ROOT:
        raise UserError("Cannot delete super administrator account")
    await soft_delete(engine, user_id)


async def rotate_access_token(engine: AsyncEngine, user_id: int) -> str:
    """A new access token for the user; the old one stops working at once."""
    token = uuid_hex()
    async with engine.begin() as conn:
        await conn.execute(
            update(users).where(users.c.id == user_id).values(access_token=token, updated_at=now_ms())
        )
    return token


async def aff_code_of(engine: AsyncEngine, user_id: int) -> str:
    """The user's invitation code, drawn (4 characters) and saved the first time it is asked for."""
    current = await existing_user(engine, user_id)
    if current["aff_code"]:
        return str(current["aff_code"])
    attempts = AFF_CODE_ATTEMPTS
    while True:
        code = aff_code()
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(users).where(users.c.id == user_id).values(aff_code=code, updated_at=now_ms())
                )
            return code
        except IntegrityError:
            attempts -= 1
            if not attempts:
                raise
