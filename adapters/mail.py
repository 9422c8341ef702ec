"""Mailers: SMTP for real delivery, and the log for machines without a mail server."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate

from application.ports.notifications import EmailMessage, MailDeliveryError

logger = logging.getLogger(__name__)


def to_mime(message: EmailMessage, sender: str) -> MimeMessage:
    """A multipart/alternative message: plain text first, HTML preferred by clients."""
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message.message_id
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class SmtpMailer:
    """Sends through an SMTP server, over TLS, STARTTLS or (on a local relay) plain text.

    Every call is bounded by ``timeout_seconds`` so a slow or silent server can
    delay only the dispatcher, never a request.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._use_tls = use_tls
        # None: upgrade with STARTTLS when the server offers it, as aiosmtplib does.
        self._start_tls = start_tls
        self._timeout = timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        # Imported on first use: an API process without SMTP_HOST never loads it.
        import aiosmtplib

        try:
            async with asyncio.timeout(self._timeout):
                await aiosmtplib.send(
                    to_mime(message, self._sender),
                    hostname=self._host,
                    port=self._port,
                    username=self._username,
                    password=self._password,
                    use_tls=self._use_tls,
                    start_tls=self._start_tls,
                    timeout=self._timeout,
                )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise MailDeliveryError(f"{type(error).__name__}: {error}") from error


class LogMailer:
    """Writes each message to the log: the default when no SMTP host is configured.

    The secrets of a message (the token of a verification or reset link) are replaced
    by ``[redacted]``: logs are read by more people, kept longer and shipped further
    than a mailbox, and a reset link is a key to the account. To follow links on a
    development machine, run a local SMTP catcher and point ``SMTP_HOST`` at it (see
    docs/operations.md); the log shows which message went where, never the key.
    """

    def __init__(self, sender: str = "storefront@localhost") -> None:
        self._sender = sender

    async def send(self, message: EmailMessage) -> None:
        logger.info(
            "E-mail (no SMTP_HOST set, not sent) %s to %s: %s\n%s",
            message.message_id,
            message.to,
            message.subject,
            redacted(message.text, message.secrets),
        )


REDACTED = "[redacted]"


def redacted(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every occurrence of each secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
