"""Sending mail through the operator's SMTP server (SMTP* options): SSL on 465, STARTTLS if offered."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from oneapi.services.options import OptionStore

SMTP_TIMEOUT = 15.0
NOT_CONFIGURED = "SMTP server is not configured"


class EmailError(RuntimeError):
    """Mail could not be sent; the message says why."""


@dataclass(frozen=True)
class SmtpConfig:
    server: str
    port: int
    account: str
    token: str
    sender: str

    @classmethod
    def of(cls, options: OptionStore) -> SmtpConfig:
        account = options.get("SMTPAccount")
        server = options.get("SMTPServer")
        return cls(
            server=server,
            port=options.get_int("SMTPPort") or 587,
            account=account,
            token=options.get("SMTPToken"),
            sender=options.get("SMTPFrom") or account or f"no-reply@{server}",
        )


def _send(config: SmtpConfig, to: str, subject: str, html: str, verify_tls: bool) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.sender
    message["To"] = to
    message.set_content(html, subtype="html")
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client: smtplib.SMTP
    if config.port == 465:
        client = smtplib.SMTP_SSL(config.server, config.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(config.server, config.port, timeout=SMTP_TIMEOUT)
    with client:
        client.ehlo()
        if config.port != 465 and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if config.account and config.token and client.has_extn("auth"):
            client.login(config.account, config.token)
        client.send_message(message, from_addr=config.sender, to_addrs=[to])


async def send_email(
    options: OptionStore, to: str, subject: str, html: str, verify_tls: bool = False
) -> None:
    """Send one HTML mail; any SMTP or network failure becomes an EmailError."""
    config = SmtpConfig.of(options)
    if not config.server:
        raise EmailError(NOT_CONFIGURED)
    try:
        await asyncio.to_thread(_send, config, to, subject, html, verify_tls)
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        raise EmailError(f"failed to send email: {exc}") from None
