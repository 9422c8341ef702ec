"""The account e-mails (welcome, verification, password reset, password changed) and
the one-time token each link carries.

Tokens are minted here, when the dispatcher writes the e-mail, not when the request
is made: the outbox then never holds a usable secret, only the fact that a link is
owed, and the token's only plain copy is the e-mail itself. A link is valid from the
moment it is sent. A message retried after a failure gets a fresh token; for a reset
that is also the newest, so the link that finally arrives is the one that works.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.letters import SHOP_NAME, Envelope, Letter, Skip, html_page, linked_letter, plain
from application.ports.common import UnitOfWork
from domain.email_tokens import EmailToken, TokenPurpose, hash_email_token, new_email_token
from domain.events import (
    PasswordChanged,
    PasswordResetRequested,
    UserRegistered,
    VerificationRequested,
)

AccountEvent = UserRegistered | VerificationRequested | PasswordResetRequested | PasswordChanged


@dataclass(frozen=True, slots=True)
class EmailLinks:
    """Where links point and how long their tokens last (``FRONTEND_URL`` and the
    ``*_EXPIRE_*`` settings)."""

    frontend_url: str = "http://localhost:3000"
    verification_ttl: timedelta = timedelta(hours=48)
    reset_ttl: timedelta = timedelta(minutes=30)

    def verification(self, token: str) -> str:
        return f"{self.frontend_url}/verify-email?token={token}"

    def reset(self, token: str) -> str:
        return f"{self.frontend_url}/reset-password?token={token}"


def _duration(ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''}"


def welcome_letter(event: UserRegistered, verification_link: str | None = None) -> Letter:
    greeting = f"Hello {event.full_name}," if event.full_name else "Hello,"
    lines = [greeting, f"welcome to {SHOP_NAME}. Your account for {event.email} is ready."]
    if verification_link is not None:
        lines.append("Please confirm your e-mail address by opening this link:")
    closing = "If you did not create it, you can ignore this message."
    title = f"Welcome to {SHOP_NAME}"
    if verification_link is None:
        return Letter(title, plain([*lines, closing]), html_page(title, [*lines, closing]))
    return linked_letter(title, lines, verification_link, "Confirm my e-mail address", closing)


def verification_letter(email: str, link: str, ttl: timedelta) -> Letter:
    title = "Confirm your e-mail address"
    lines = [
        f"Please confirm that {email} is your address for {SHOP_NAME} by opening this link "
        f"within {_duration(ttl)}:"
    ]
    closing = "If you did not ask for this, you can ignore this message."
    return linked_letter(title, lines, link, "Confirm my e-mail address", closing)


def reset_letter(link: str, ttl: timedelta) -> Letter:
    title = "Reset your password"
    lines = [
        f"Somebody (we hope you) asked to reset the password of your {SHOP_NAME} account. "
        f"Open this link within {_duration(ttl)} to choose a new one:"
    ]
    closing = (
        "If you did not ask for this, ignore this message: your password stays as it is. "
        "Only the newest reset link works, and only once."
    )
    return linked_letter(title, lines, link, "Choose a new password", closing)


def password_changed_letter(email: str) -> Letter:
    title = "Your password was changed"
    lines = [
        f"The password of your {SHOP_NAME} account {email} was just changed, and every "
        "session of the account was ended.",
        "If you did not do this, reset your password at once and contact us.",
    ]
    return Letter(subject=title, text=plain(lines), html=html_page(title, lines))


async def mint_token(
    uow: UnitOfWork,
    *,
    user_id: int,
    email: str,
    purpose: TokenPurpose,
    ttl: timedelta,
    now: datetime,
) -> str:
    """Store a new token's digest in ``uow``'s transaction and return the token itself."""
    token = new_email_token()
    await uow.email_tokens.add(
        EmailToken(
            token_hash=hash_email_token(token),
            user_id=user_id,
            purpose=purpose,
            email=email,
            issued_at=now,
            expires_at=now + ttl,
        )
    )
    return token


async def compose_account_mail(
    uow: UnitOfWork, event: AccountEvent, links: EmailLinks, now: datetime
) -> Envelope | Skip:
    """The e-mail an account event calls for, as things stand now, in ``uow``'s
    transaction (which stores any token minted for it)."""
    if isinstance(event, PasswordChanged):
        # To the address the account had when it happened, even if it changed with it.
        return Envelope(event.email, password_changed_letter(event.email))
    if isinstance(event, PasswordResetRequested):
        user = await uow.users.get_by_email(event.email)
        if user is None or not user.is_active or user.email is None:
            return Skip("no active account has this address")
        token = await mint_token(
            uow,
            user_id=user.id,
            email=user.email,
            purpose=TokenPurpose.RESET_PASSWORD,
            ttl=links.reset_ttl,
            now=now,
        )
        return Envelope(user.email, reset_letter(links.reset(token), links.reset_ttl), (token,))
    user = await uow.users.get(event.user_id)
    # A link for an address the account no longer has, or no longer needs proving,
    # would prove nothing.
    needs_link = user is not None and not user.is_verified and user.email == event.email
    if isinstance(event, UserRegistered):
        if not needs_link:
            return Envelope(event.email, welcome_letter(event))
        token = await _verification_token(uow, event.user_id, event.email, links, now)
        letter = welcome_letter(event, links.verification(token))
        return Envelope(event.email, letter, (token,))
    if not needs_link:
        return Skip("the address is already verified or no longer the account's")
    token = await _verification_token(uow, event.user_id, event.email, links, now)
    letter = verification_letter(event.email, links.verification(token), links.verification_ttl)
    return Envelope(event.email, letter, (token,))


async def _verification_token(
    uow: UnitOfWork, user_id: int, email: str, links: EmailLinks, now: datetime
) -> str:
    return await mint_token(
        uow,
        user_id=user_id,
        email=email,
        purpose=TokenPurpose.VERIFY_EMAIL,
        ttl=links.verification_ttl,
        now=now,
    )
