"""The WebAuthn ceremonies behind passkey sign-in (SPEC §1.3), as the fork runs them.

- the relying party: WEBAUTHN_RP_ID / WEBAUTHN_RP_ORIGINS, else the host and origin of the
  ServerAddress option (localhost when it has none); its display name is SystemName;
- the WebAuthn user handle is the user id as 8 big-endian bytes (the fork's), so passkeys made
  on the fork sign in here and the other way round;
- registration asks for a discoverable (resident) credential and excludes the user's existing
  ones; sign-in is discoverable (no username asked): the credential's user handle names the user.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from oneapi.config import Settings
from oneapi.services import passkeys
from oneapi.services.options import OptionStore
from oneapi.services.passkeys import PasskeyError
from oneapi.services.roles import USER_ENABLED
from oneapi.services.users_query import user_by

TIMEOUT_MS = 300_000  # the browser prompt's timeout; the stored challenge lives as long
BAD_CREDENTIAL = "request body must be the credential the authenticator returned (a JSON object)"
UNKNOWN_CREDENTIAL = "login failed: unknown passkey"
USER_DISABLED = "login failed: user account is disabled"
CLONED = "login failed: the passkey's signature counter went backwards (a cloned authenticator?)"


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origins: list[str]
    name: str


def relying_party(settings: Settings, options: OptionStore) -> RelyingParty:
    """This site as WebAuthn sees it; read per ceremony so a changed ServerAddress applies at once."""
    address = options.get("ServerAddress").strip()
    rp_id = settings.webauthn_rp_id or urlsplit(address).hostname or "localhost"
    origins = [o.strip().rstrip("/") for o in settings.webauthn_rp_origins.split(",") if o.strip()]
    if not origins and address:
        parts = urlsplit(address)
        # a browser's origin: scheme and host (lower case) and port, never a path
        origins = [f"{parts.scheme}://{parts.netloc}".lower() if parts.netloc else address.rstrip("/")]
    return RelyingParty(rp_id, origins, options.get("SystemName") or "One API")


def user_handle(user_id: int) -> bytes:
    return struct.pack(">Q", user_id)


def user_id_of(handle: bytes | None) -> int | None:
    if handle is None or len(handle) != 8:
        return None
    return int(struct.unpack(">Q", handle)[0])


def _text(value: Any) -> str:
    """An enum member's value, or the string the library already gave."""
    return str(getattr(value, "value", value))


def _transports(raw: str | None) -> list[AuthenticatorTransport]:
    known = {t.value: t for t in AuthenticatorTransport}
    return [known[t] for t in (raw or "").split(",") if t in known]


async def registration_options(
    engine: AsyncEngine, rp: RelyingParty, user: RowMapping
) -> tuple[dict[str, Any], bytes]:
    """The creation options for the browser (`{"publicKey": …}`) and the challenge to remember."""
    existing = await passkeys.list_for_user(engine, user["id"])
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle(user["id"]),
        user_name=user["username"] or str(user["id"]),
        user_display_name=user["display_name"] or user["username"] or str(user["id"]),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(
                id=bytes(row["credential_id"]), transports=_transports(row["transport"])
            )
            for row in existing
        ],
    )
    return {"publicKey": options_to_json_dict(options)}, options.challenge


def _registration(body: Any) -> RegistrationCredential:
    if not isinstance(body, dict):
        raise PasskeyError(BAD_CREDENTIAL)
    try:
        return parse_registration_credential_json(body)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(f"registration failed: {exc}") from None


def _authentication(body: Any) -> AuthenticationCredential:
    if not isinstance(body, dict):
        raise PasskeyError(BAD_CREDENTIAL)
    try:
        return parse_authentication_credential_json(body)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(f"login failed: {exc}") from None


async def finish_registration(
    engine: AsyncEngine,
    rp: RelyingParty,
    user_id: int,
    challenge: bytes,
    body: Any,
    name: str | None,
) -> dict[str, Any]:
    """Verify the authenticator's attestation against `challenge` and store the new passkey."""
    credential = _registration(body)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(f"registration failed: {exc}") from None
    return await passkeys.add(
        engine,
        user_id=user_id,
        name=passkeys.registration_name(name),
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        attestation_type=_text(verified.fmt),
        aaguid=uuid.UUID(verified.aaguid).bytes,
        sign_count=verified.sign_count,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backup_state=verified.credential_backed_up,
        transports=[_text(t) for t in credential.response.transports or []],
    )


def login_options(rp: RelyingParty) -> tuple[dict[str, Any], bytes]:
    """Options for a discoverable sign-in (no allowed list: the browser offers every passkey)."""
    options = generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS, user_verification=UserVerificationRequirement.PREFERRED
    )
    return {"publicKey": options_to_json_dict(options)}, options.challenge


async def finish_login(engine: AsyncEngine, rp: RelyingParty, challenge: bytes, body: Any) -> RowMapping:
    """Verify an assertion against `challenge`; the enabled user it signs in, else PasskeyError."""
    credential = _authentication(body)
    row = await passkeys.by_credential_id(engine, credential.raw_id)
    if row is None:
        raise PasskeyError(UNKNOWN_CREDENTIAL)
    handle = credential.response.user_handle
    if handle is not None and user_id_of(handle) != row["user_id"]:
        raise PasskeyError(UNKNOWN_CREDENTIAL)
    user = await user_by(engine, id=row["user_id"])
    if user is None:
        raise PasskeyError(UNKNOWN_CREDENTIAL)
    if user["status"] != USER_ENABLED:
        raise PasskeyError(USER_DISABLED)
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            credential_public_key=bytes(row["public_key"]),
            credential_current_sign_count=row["sign_count"] or 0,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(f"login failed: {exc}") from None
    if not await passkeys.record_use(engine, row, verified.new_sign_count, verified.credential_backed_up):
        raise PasskeyError(CLONED)
    return user
