"""E-mails before they are addressed, and what the dispatcher makes of an event.

Every letter has a plain-text body and a complete HTML page; names and links are
escaped in the HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal

SHOP_NAME = "Storefront"


@dataclass(frozen=True, slots=True)
class Letter:
    """An e-mail before it is addressed: subject and both bodies."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """A letter and where it goes; ``secrets`` are parts of it no log may show."""

    to: str
    letter: Letter
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing is sent for this event: the reason, and whether an operator should look.

    ``failed`` parks the message (a recipient who vanished); otherwise the message is
    settled quietly (a link that is no longer needed, an unknown address asking for a
    reset: sending nothing is the right outcome).
    """

    reason: str
    failed: bool = False


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def _paragraphs(paragraphs: list[str]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def html_page(
    title: str, paragraphs: list[str], extra: str = "", closing: tuple[str, ...] = ()
) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1>{_paragraphs(paragraphs)}{extra}"
        f"{_paragraphs(list(closing))}</body></html>"
    )


def plain(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs) + "\n"


def linked_letter(title: str, lines: list[str], link: str, label: str, closing: str) -> Letter:
    """A letter whose point is one link: on a line of its own in the plain text (where
    mail clients make it clickable), and a labelled anchor in the HTML."""
    anchor = f'<p><a href="{html.escape(link)}">{html.escape(label)}</a></p>'
    return Letter(
        subject=title,
        text=plain([*lines, link, closing]),
        html=html_page(title, lines, anchor, (closing,)),
    )
