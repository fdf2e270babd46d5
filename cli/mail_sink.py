"""A local SMTP sink (aiosmtpd, the ``dev`` extra): a real SMTP server that keeps what it receives.

The demo points the worker's e-mail channel at it and shows a resident's e-mail arriving; the tests use it as the
real SMTP server their messages cross. Each message is kept in memory (``received``) and, with ``folder``, saved
as ``<n>.eml``. ``refuse`` is a reply it gives every recipient (or those in ``refused``) instead of taking them:
``451 4.3.0 ...`` for now, ``550 5.1.1 ...`` for good, for the tests of retries, dead letters and bad addresses.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the sink took it: the SMTP envelope's recipients and the parsed message."""

    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""


class MailSink:
    """Serves SMTP on 127.0.0.1:``port`` (``start``/``stop``, or ``async with``)."""

    def __init__(
        self, port: int | None = None, *, folder: Path | None = None, refuse: str | None = None,
        refused: set[str] | None = None,
    ) -> None:  # fmt: skip
        self.port = port or _free_port()
        self.folder = folder
        self.refuse = refuse
        self.refused = refused
        self.received: list[ReceivedMail] = []
        self._controller: Any = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller  # the dev extra: imported only where a sink is started

        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def __aenter__(self) -> MailSink:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self.stop)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        """aiosmtpd's hook for each ``RCPT TO``: taken, or refused when ``refuse`` is set."""
        if self.refuse is not None and (self.refused is None or address in self.refused):
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook for a whole message: keep it (and save it)."""
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(recipients=list(envelope.rcpt_tos), message=message))
        if self.folder is not None:
            (self.folder / f"{len(self.received):04d}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
