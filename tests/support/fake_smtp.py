"""A local SMTP server (aiosmtpd) on loopback that keeps every mail it is given, for sign-up tests."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    subject: str
    body: str


class _Keeper:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        part = parsed.get_body(preferencelist=("html", "plain"))
        body = part.get_content() if part is not None else ""
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), str(parsed["Subject"]), body))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeSmtp:
    """Plain SMTP (no TLS, no AUTH) on 127.0.0.1; `mails` lists what arrived, oldest first."""

    def __init__(self) -> None:
        self._keeper = _Keeper()
        self.port = _free_port()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)

    @property
    def mails(self) -> list[Mail]:
        return self._keeper.mails

    def start(self) -> FakeSmtp:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def last_to(self, recipient: str, timeout: float = 5.0) -> Mail:
        """The newest mail for `recipient`, waiting briefly for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mail in reversed(self.mails):
                if recipient in mail.recipients:
                    return mail
            time.sleep(0.05)
        raise AssertionError(f"no mail for {recipient}; got {[m.recipients for m in self.mails]}")


def code_in(mail: Mail) -> str:
    """The verification code in a sign-up mail (the text in <strong>)."""
    found = re.search(r"<strong>([A-Za-z0-9]+)</strong>", mail.body)
    assert found, mail.body
    return found.group(1)
