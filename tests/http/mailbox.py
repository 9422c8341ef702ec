"""The e-mails an app's outbox would send, collected by running its delivery pass.

Tests take tokens out of the plain-text part of a message, the way a customer follows
the link: ``{FRONTEND_URL}/verify-email?token=...`` or ``/reset-password?token=...``.
"""

from __future__ import annotations

import re

from application.notifications import DeliverOutbox
from application.ports.notifications import EmailMessage
from entrypoints.container import Container
from entrypoints.infrastructure import email_links

_LINK = re.compile(
    r"^(?P<base>\S+)/(?P<kind>verify-email|reset-password)\?token=(?P<token>[A-Za-z0-9_-]+)$",
    re.MULTILINE,
)


class Mailbox:
    """Every message delivered from one container's outbox, oldest first."""

    def __init__(self, container: Container) -> None:
        settings = container.settings
        self.sent: list[EmailMessage] = []
        self._deliver = DeliverOutbox(
            container.uow,
            self,
            container.clock,
            links=email_links(settings),
        )

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)

    async def collect(self) -> list[EmailMessage]:
        """Deliver what the outbox holds; return the messages that arrived just now."""
        before = len(self.sent)
        while await self._deliver.execute():
            pass
        return self.sent[before:]

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.sent if message.to == address]


def link_in(message: EmailMessage) -> tuple[str, str, str] | None:
    """``(base URL, kind, token)`` of the link in the plain-text part, if any."""
    found = _LINK.search(message.text)
    return None if found is None else (found["base"], found["kind"], found["token"])


def token_in(message: EmailMessage, kind: str) -> str:
    link = link_in(message)
    assert link is not None, f"no link in {message.subject!r}"
    assert link[1] == kind, f"a {link[1]} link, not {kind}"
    return link[2]
