"""The user DTO: what the API shows of a `users` row (never password, access token or TOTP secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PUBLIC = (
    "id",
    "username",
    "display_name",
    "role",
    "status",
    "email",
    "github_id",
    "wechat_id",
    "lark_id",
    "oidc_id",
    "quota",
    "used_quota",
    "request_count",
    "group",
    "aff_code",
    "inviter_id",
    "created_at",
    "updated_at",
)
_TEXT = {
    "username",
    "display_name",
    "email",
    "github_id",
    "wechat_id",
    "lark_id",
    "oidc_id",
    "group",
    "aff_code",
}


def user_dto(row: Mapping[Any, Any]) -> dict[str, Any]:
    dto = {}
    for name in _PUBLIC:
        value = row.get(name)
        if value is None:
            value = "" if name in _TEXT else 0
        dto[name] = value
    return dto


def login_dto(row: Mapping[Any, Any]) -> dict[str, Any]:
    """What login answers: the DTO's shape with only who the user is filled in, as One API does."""
    return user_dto({name: row.get(name) for name in ("id", "username", "display_name", "role", "status")})
