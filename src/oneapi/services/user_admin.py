"""What administrators may do to other users, with One API's cross-role rules (SPEC §3.3).

An administrator acts only on users of a strictly lower role; root acts on anyone except where a
rule protects root itself (it cannot be disabled, deleted, demoted or created a second time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import logs, users
from oneapi.services.keys import now_ms, now_s
from oneapi.services.passwords import hash_password
from oneapi.services.roles import (
    LOG_MANAGE,
    ROLE_ADMIN,
    ROLE_COMMON,
    ROLE_ROOT,
    USER_DELETED,
    USER_DISABLED,
    USER_ENABLED,
)
from oneapi.services.users import (
    MAX_ID,
    UserError,
    create_user,
    existing_user,
    save_user,
    soft_delete,
)
from oneapi.services.users_query import user_by

SORTABLE = (
    "id",
    "username",
    "email",
    "display_name",
    "role",
    "status",
    "quota",
    "used_quota",
    "request_count",
    "created_at",
    "updated_at",
)
LEGACY_ORDER = {
    "quota": (users.c.quota.desc(),),
    "used_quota": (users.c.used_quota.desc(),),
    "request_count": (users.c.request_count.desc(),),
}
ASSIGNABLE_ROLES = (ROLE_COMMON, ROLE_ADMIN, ROLE_ROOT)

SAME_LEVEL_UPDATE = (
    "No permission to update user information with the same permission level or higher permission level"
)
SAME_LEVEL_GET = "No permission to get information of users at the same level or higher"
SAME_LEVEL_DELETE = "No permission to delete users with the same permission level or higher permission level"
ROLE_TOO_HIGH = "No permission to promote other users to a permission level greater than or equal to your own"
CREATE_TOO_HIGH = "Unable to create users with permissions greater than or equal to your own"
INVALID_INPUT = "Invalid input, please check your input"
ROOT_DOWNGRADE = "Unable to downgrade super administrator user"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Actor:
    """The administrator doing the change."""

    id: int
    role: int

    def outranks(self, target_role: int) -> bool:
        """Root acts on anyone; others only on users of a strictly lower role."""
        return self.role == ROLE_ROOT or self.role > target_role


def _visible() -> ColumnElement[bool]:
    return users.c.status != USER_DELETED


async def list_users(
    engine: AsyncEngine, offset: int, limit: int, order: Sequence[ColumnElement[Any]]
) -> tuple[list[RowMapping], int]:
    """One page of users that are not deleted, and how many there are in all."""
    async with engine.connect() as conn:
        stmt = select(users).where(_visible()).order_by(*order).offset(offset).limit(limit)
        rows = list((await conn.execute(stmt)).mappings().all())
        total = (await conn.execute(select(func.count()).select_from(users).where(_visible()))).scalar_one()
    return rows, int(total)


async def search_users(
    engine: AsyncEngine, keyword: str, order: Sequence[ColumnElement[Any]]
) -> list[RowMapping]:
    """Users whose username, email or display name starts with `keyword`, or whose id it is."""
    matches = [
        users.c.username.startswith(keyword, autoescape=True),
        users.c.email.startswith(keyword, autoescape=True),
        users.c.display_name.startswith(keyword, autoescape=True),
    ]
    if keyword.isdigit() and int(keyword) <= MAX_ID:
        matches.append(users.c.id == int(keyword))
    stmt = select(users).where(_visible(), or_(*matches)).order_by(*order)
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).mappings().all())


async def get_user(engine: AsyncEngine, actor: Actor, user_id: int) -> RowMapping:
    row = await existing_user(engine, user_id)
    if not actor.outranks(row["role"] or 0):
        raise UserError(SAME_LEVEL_GET)
    return row


async def add_user(
    engine: AsyncEngine,
    actor: Actor,
    *,
    username: str,
    password: str,
    quota_for_new_user: int,
    display_name: str = "",
    email: str = "",
    role: int = 0,
    quota: int = 0,
    group: str = "",
) -> int:
    """An administrator's new user: role below the creator's, quota from the body or the option."""
    if len(username) > 30 or not 8 <= len(password) <= 20 or len(display_name) > 20 or len(email) > 50:
        raise UserError(INVALID_INPUT)
    if quota < 0 or len(group) > 32:
        raise UserError(INVALID_INPUT)
    if not username.strip():
        raise UserError("Username cannot be empty")
    if display_name and not display_name.strip():
        raise UserError("Display name cannot be empty if provided")
    role = role or ROLE_COMMON
    if role >= actor.role:
        raise UserError(CREATE_TOO_HIGH)
    if role not in ASSIGNABLE_ROLES:
        raise UserError(INVALID_INPUT)
    return await create_user(
        engine,
        username=username,
        password=password,
        display_name=display_name,
        email=email,
        role=role,
        quota=quota if quota > 0 else quota_for_new_user,
        group=group.strip() or "default",
    )


@dataclass(frozen=True)
class UserChanges:
    """The fields of PUT /api/user/; None leaves a field as it is (so does an empty password)."""

    username: str | None = None
    password: str | None = None
    display_name: str | None = None
    email: str | None = None
    quota: int | None = None
    group: str | None = None
    role: int | None = None


def _changed_values(changes: UserChanges, actor: Actor, target: RowMapping) -> dict[str, Any]:
    """Validate `changes` and turn them into column values (the password still in plain text)."""
    values: dict[str, Any] = {}
    if changes.username is not None:
        username = changes.username.strip()
        if not username:
            raise UserError("Username cannot be empty")
        if not 3 <= len(username) <= 30:
            raise UserError("Username must be between 3 and 30 characters")
        values["username"] = username
    if changes.display_name is not None:
        display_name = changes.display_name.strip()
        if len(display_name) > 20:
            raise UserError("Display name cannot exceed 20 characters")
        values["display_name"] = display_name
    if changes.email is not None:
        email = changes.email.strip()
        if len(email) > 50:
            raise UserError("Email cannot exceed 50 characters")
        if email and not _EMAIL.match(email):
            raise UserError("Valid email is required")
        values["email"] = email
    if changes.group is not None:
        group = changes.group.strip()
        if not group:
            raise UserError("Group cannot be empty")
        if len(group) > 32:
            raise UserError("Group cannot exceed 32 characters")
        values["group"] = group
    if changes.quota is not None:
        if changes.quota < 0:
            raise UserError("Quota must be non-negative")
        values["quota"] = changes.quota
    if changes.password:
        password = changes.password.strip()
        if not 8 <= len(password) <= 20:
            raise UserError("Password length must be between 8 and 20 characters")
        values["password"] = password
    if changes.role is not None and changes.role != target["role"]:
        if target["role"] == ROLE_ROOT:
            raise UserError(ROOT_DOWNGRADE)
        if changes.role >= actor.role:
            raise UserError(ROLE_TOO_HIGH)
        if changes.role not in ASSIGNABLE_ROLES:
            raise UserError("Invalid role provided")
        values["role"] = changes.role
    return values


async def update_user(
    engine: AsyncEngine, logs_engine: AsyncEngine, actor: Actor, user_id: int, changes: UserChanges
) -> None:
    """Apply an administrator's edit; a quota change is written to the logs as a manage entry."""
    target = await existing_user(engine, user_id)
    if not actor.outranks(target["role"] or 0):
        raise UserError(SAME_LEVEL_UPDATE)
    values = _changed_values(changes, actor, target)
    if not values:
        return
    if "password" in values:
        values["password"] = await hash_password(values["password"])
    values["updated_at"] = now_ms()
    await save_user(engine, user_id, values)
    old_quota = target["quota"] or 0
    if "quota" in values and values["quota"] != old_quota:
        content = f"admin changed user quota from {old_quota} to {values['quota']}, admin_id={actor.id}"
        await _manage_log(logs_engine, user_id, values.get("username", target["username"]), content)


async def _manage_log(engine: AsyncEngine, user_id: int, username: str, content: str) -> None:
    row = {"user_id": user_id, "username": username, "created_at": now_s(), "type": LOG_MANAGE}
    async with engine.begin() as conn:
        await conn.execute(insert(logs).values(**row, content=content))


async def delete_user(engine: AsyncEngine, actor: Actor, user_id: int) -> None:
    """Soft-delete a user of strictly lower role (root included: nobody deletes root)."""
    target = await existing_user(engine, user_id)
    if actor.role <= (target["role"] or 0):
        raise UserError(SAME_LEVEL_DELETE)
    await soft_delete(engine, user_id)


async def manage_user(engine: AsyncEngine, actor: Actor, username: str, action: str) -> tuple[int, int, int]:
    """POST /api/user/manage: disable, enable, delete, promote or demote; (id, role, status) after."""
    target = await user_by(engine, username=username) if username else None
    if target is None:
        raise UserError("User does not exist")
    role, status = target["role"] or 0, target["status"] or 0
    if not actor.outranks(role):
        raise UserError(SAME_LEVEL_UPDATE)
    if action == "delete":
        if role == ROLE_ROOT:
            raise UserError("Unable to delete super administrator user")
        await soft_delete(engine, target["id"])
        return target["id"], role, USER_DELETED
    values = _managed_values(actor, role, action)
    values["updated_at"] = now_ms()
    await save_user(engine, target["id"], values)
    return target["id"], values.get("role", role), values.get("status", status)


def _managed_values(actor: Actor, role: int, action: str) -> dict[str, Any]:
    if action == "disable":
        if role == ROLE_ROOT:
            raise UserError("Unable to disable super administrator user")
        return {"status": USER_DISABLED}
    if action == "enable":
        return {"status": USER_ENABLED}
    if action == "promote":
        if actor.role != ROLE_ROOT:
            raise UserError("Ordinary administrator users cannot promote other users to administrators")
        if role >= ROLE_ADMIN:
            raise UserError("The user is already an administrator")
        return {"role": ROLE_ADMIN}
    if action == "demote":
        if role == ROLE_ROOT:
            raise UserError(ROOT_DOWNGRADE)
        if role <= ROLE_COMMON:
            raise UserError("The user is already an ordinary user")
        return {"role": ROLE_COMMON}
    raise UserError("invalid parameter")
