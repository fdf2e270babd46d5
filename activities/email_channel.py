"""E-mail to residents over SMTP (aiosmtplib): one message per call, a connection each time.

A connection per message rather than a kept one: residents' messages come a few a minute, and a fresh connection
never finds a server that closed an idle one. The message carries ``Message-ID`` derived from the delivery key,
so a mail system (or a resident's client) can drop the copy that at-least-once delivery may bring.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib


class EmailRefused(RuntimeError):
    """The SMTP server refused the message or could not be reached; the text names the SMTP code, never an address.

    ``permanent``: the server refused the recipient for good (a 5xx with an addressing status, ``5.1.x``: no such
    mailbox, a bad address); trying again would only hold up everyone else's mail."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "whistle@localhost"
    username: str | None = None
    password: str | None = None
    security: str = "none"
    """``none`` (a relay inside the network, the demo's sink), ``starttls``, or ``tls`` (implicit, port 465)."""
    timeout: float = 10.0


class SmtpChannel:
    """Sends one e-mail through the configured SMTP server."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def send(self, to: str, subject: str, body: str, *, key: str) -> None:
        """Send ``body`` (plain text, UTF-8) to ``to``; raise ``EmailRefused`` unless the server takes it."""
        settings = self.settings
        message = EmailMessage()
        message["From"] = settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(key, settings.sender)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a notice
        message.set_content(body, charset="utf-8")
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password,
                use_tls=settings.security == "tls",
                start_tls=settings.security == "starttls",
                timeout=settings.timeout,
            )
        except aiosmtplib.SMTPResponseException as error:
            raise EmailRefused(f"SMTP answered {error.code}") from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({f"{refused.code} {refused.message[:5]}".strip() for refused in error.recipients})
            for_good = all(refused.code >= 500 and refused.message.startswith("5.1.") for refused in error.recipients)
            raise EmailRefused(f"SMTP refused the recipient ({', '.join(codes)})", permanent=for_good) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise EmailRefused(f"SMTP failed: {type(error).__name__}") from None


def message_id(key: str, sender: str) -> str:
    """The same ``Message-ID`` for every attempt at one delivery (``key``), on the sender's domain."""
    domain = sender.rpartition("@")[2] or "whistle.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
