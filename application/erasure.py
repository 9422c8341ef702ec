"""Erasing one's own account: the person goes, the shop's books stay.

The account's row stays, because orders point at it, but without its e-mail address,
name or usable password; its sessions and refresh tokens are deleted (they record
addresses and user agents), and so are its outbox messages (they carry the address).
Orders, their lines and totals stay as they were: they hold no personal data, only the
account's id. ``docs/erasure.md`` says what is kept and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.auth import admit, password_key, save_user_changes
from application.ports.accounts import LoginThrottle, PasswordHasher, UserChanges
from application.ports.common import Clock, UnitOfWorkFactory
from application.users import load_user
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.users import User

ERASED_PASSWORD = "!erased"
"""What an erased account keeps as its password hash: no hasher makes it, so no
password matches it."""
LAST_SUPERUSER = "The last active superuser cannot erase their account"


@dataclass(frozen=True, slots=True)
class EraseAccountCommand:
    user_id: int
    current_password: str | None
    expected_version: int | None = None
    """The version the client saw (If-Match); None: erase whatever changed since."""


class EraseAccount:
    """Erase the caller's account, once they give its current password.

    Wrong passwords count as failed logins for the account (429 past the limit), so a
    stolen access token cannot be used to guess it. The last active superuser cannot
    erase their account (409): the shop would have no operator left. Every session
    ends: access tokens by the token version, refresh tokens by their deletion.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        throttle: LoginThrottle,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle

    async def execute(self, command: EraseAccountCommand) -> None:
        if command.current_password is None:
            raise InvalidInput(
                "current_password is required to erase the account", field="current_password"
            )
        async with self._uow() as uow:
            user = await load_user(uow, command.user_id)
        await self._check_password(user, command.current_password)
        now = self._clock.now()
        erased = UserChanges(
            email=None,
            full_name=None,
            hashed_password=ERASED_PASSWORD,
            is_active=False,
            is_superuser=False,
            end_sessions=True,
        )
        async with self._uow() as uow:
            # Superusers first, then the account: every writer takes locks in this order.
            superusers = await uow.users.lock_active_superusers()
            current = await uow.users.get_for_update(user.id)
            if current is None or current.email is None:
                raise NotFound(f"User {user.id} not found")
            if current.hashed_password != user.hashed_password:
                # The password changed since it was checked: the proof is out of date.
                raise PermissionDenied("The current password is not correct")
            if superusers == [current.id]:
                raise Conflict(LAST_SUPERUSER)
            await save_user_changes(uow, user.id, erased, now, command.expected_version)
            await uow.sessions.delete_all_for_user(user.id)
            await uow.refresh_tokens.delete_all_for_user(user.id)
            await uow.email_tokens.delete_all_for_user(user.id)
            await uow.outbox.forget_user(user.id)
            await uow.commit()
        # The failed attempts counted against the address go with it.
        await self._throttle.reset(password_key(user))

    async def _check_password(self, user: User, current_password: str) -> None:
        admission = await admit(
            self._throttle, [password_key(user)], "Too many wrong passwords; try again later"
        )
        try:
            check = await self._hasher.verify(current_password, user.hashed_password)
        except BaseException:
            await self._throttle.clear(admission)
            raise
        if not check.valid:
            raise PermissionDenied("The current password is not correct")
        await self._throttle.clear(admission)
