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


class _BoundController(Controller):
    """aiosmtpd's Controller serving a socket bound before the start, so no other process (another
    xdist worker) can take the port between choosing it and listening, as with a probe socket."""

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        self._sock = sock
        super().__init__(handler, hostname="127.0.0.1", port=int(sock.getsockname()[1]))

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class FakeSmtp:
    """Plain SMTP (no TLS, no AUTH) on 127.0.0.1; `mails` lists what arrived, oldest first."""

    def __init__(self) -> None:
        self._keeper = _Keeper()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._controller = _BoundController(self._keeper, sock)
        self.port = self._controller.port

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
