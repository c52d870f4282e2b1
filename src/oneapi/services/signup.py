"""Sign-up rules (SPEC §3.4): registration checks, the email domain whitelist, invitation gifts, reset."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import logs, users
from oneapi.services.keys import now_s
from oneapi.services.options import OptionStore
from oneapi.services.passwords import hash_password
from oneapi.services.roles import LOG_SYSTEM
from oneapi.services.users import UserError, create_user
from oneapi.services.users_query import user_by
from oneapi.services.verification import PURPOSE_RESET, PURPOSE_VERIFY, VerificationCodes

REGISTER_OFF = "The administrator has turned off new user registration"
PASSWORD_REGISTER_OFF = (
    "The administrator has turned off registration via password, please use third-party account verification"
)
INVALID_INPUT = "Invalid input, please check your input"
CODE_WRONG = "Verification code error or expired"
EMAIL_INVALID = "Invalid email address"
DOMAIN_REFUSED = (
    "The administrator has enabled the email domain name whitelist, and your email address is not allowed"
)
EMAIL_TAKEN = "The email address is already in use"
EMAIL_UNKNOWN = "This email address is not registered"
RESET_WRONG = "The reset link is invalid or has expired"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
RESET_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class Registration:
    username: str
    password: str
    display_name: str = ""
    email: str = ""
    verification_code: str = ""
    aff_code: str = ""


@dataclass(frozen=True)
class Registered:
    user_id: int
    inviter_id: int | None


def valid_email(email: str) -> bool:
    return len(email) <= 50 and _EMAIL.match(email) is not None


def check_email_domain(options: OptionStore, email: str) -> None:
    """With the whitelist on, the part after the last "@" must equal a listed domain exactly."""
    if not options.get_bool("EmailDomainRestrictionEnabled"):
        return
    allowed = {d.strip().lower() for d in options.get("EmailDomainWhitelist").split(",") if d.strip()}
    if email.rpartition("@")[2].lower() not in allowed:
        raise UserError(DOMAIN_REFUSED)


def check_switches(options: OptionStore) -> None:
    """RegisterEnabled and PasswordRegisterEnabled, answered before the body is read."""
    if not options.get_bool("RegisterEnabled"):
        raise UserError(REGISTER_OFF)
    if not options.get_bool("PasswordRegisterEnabled"):
        raise UserError(PASSWORD_REGISTER_OFF)


def check_registration(options: OptionStore, reg: Registration) -> None:
    """Everything that can refuse a sign-up before the database is asked."""
    check_switches(options)
    if (
        not reg.username
        or len(reg.username) > 30
        or not 8 <= len(reg.password) <= 20
        or len(reg.display_name) > 20
        or (reg.email and not valid_email(reg.email))
    ):
        raise UserError(INVALID_INPUT)
    if options.get_bool("EmailVerificationEnabled") and (not reg.email or not reg.verification_code):
        raise UserError(INVALID_INPUT if not reg.email else CODE_WRONG)
    if reg.email:
        check_email_domain(options, reg.email)


async def _system_log(
    logs_engine: AsyncEngine, user_id: int, username: str, quota: int, content: str
) -> None:
    row = {
        "user_id": user_id,
        "username": username,
        "created_at": now_s(),
        "type": LOG_SYSTEM,
        "content": content,
        "quota": quota,
    }
    async with logs_engine.begin() as conn:
        await conn.execute(insert(logs).values(**row))


async def register(
    engine: AsyncEngine,
    logs_engine: AsyncEngine,
    options: OptionStore,
    codes: VerificationCodes,
    reg: Registration,
) -> Registered:
    """Create the account with its gifts; the inviter (by aff_code) gets QuotaForInviter."""
    check_registration(options, reg)
    verifying = options.get_bool("EmailVerificationEnabled")
    if verifying and not await codes.check(PURPOSE_VERIFY, reg.email, reg.verification_code):
        raise UserError(CODE_WRONG)
    inviter = await user_by(engine, aff_code=reg.aff_code) if reg.aff_code else None
    for_new = max(0, options.get_int("QuotaForNewUser"))
    for_invitee = max(0, options.get_int("QuotaForInvitee")) if inviter is not None else 0
    user_id = await create_user(
        engine,
        username=reg.username,
        password=reg.password,
        quota=for_new + for_invitee,
        display_name=reg.display_name or reg.username,
        email=reg.email,
        inviter_id=inviter["id"] if inviter is not None else None,
    )
    if for_new:
        await _system_log(
            logs_engine, user_id, reg.username, for_new, f"New user registration gift: {for_new} quota"
        )
    if inviter is None:
        return Registered(user_id, None)
    if for_invitee:
        text = f"Invitation code gift: {for_invitee} quota"
        await _system_log(logs_engine, user_id, reg.username, for_invitee, text)
    for_inviter = max(0, options.get_int("QuotaForInviter"))
    if for_inviter:
        async with engine.begin() as conn:
            await conn.execute(
                update(users).where(users.c.id == inviter["id"]).values(quota=users.c.quota + for_inviter)
            )
        text = f"Invited user {reg.username}: gift of {for_inviter} quota"
        await _system_log(logs_engine, inviter["id"], inviter["username"], for_inviter, text)
    return Registered(user_id, int(inviter["id"]))


async def reset_password(engine: AsyncEngine, codes: VerificationCodes, email: str, token: str) -> str:
    """Spend the emailed reset token and give the account a random new password, which is returned."""
    if not email or not await codes.check(PURPOSE_RESET, email, token):
        raise UserError(RESET_WRONG)
    password = secrets.token_urlsafe(9)[:RESET_PASSWORD_LENGTH]
    async with engine.begin() as conn:
        result = await conn.execute(
            update(users).where(users.c.email == email).values(password=await hash_password(password))
        )
    if result.rowcount == 0:
        raise UserError(EMAIL_UNKNOWN)
    return password
