"""A user's own profile and statistics, and the superuser's administration of users."""

from __future__ import annotations

from dataclasses import dataclass

from application.auth import admit, password_key, save_user_changes
from application.changes import UNSET, Unset, changed
from application.pagination import (
    MAX_PAGE_SIZE,
    KeysetPosition,
    Page,
    page_from_slice,
    page_request,
)
from application.ports.accounts import LoginThrottle, PasswordHasher, UserChanges
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.events import PasswordChanged, VerificationRequested
from domain.ids import NEW_ID
from domain.orders import UserStats
from domain.users import User, check_full_name, check_password_rules, normalise_email

USERS_SORT = "id"


async def load_user(uow: UnitOfWork, user_id: int) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    return user


@dataclass(frozen=True, slots=True)
class UpdateProfileCommand:
    user_id: int
    full_name: str | Unset | None = UNSET
    email: str | Unset = UNSET
    password: str | Unset = UNSET
    current_password: str | None = None
    expected_version: int | None = None
    """The version the client saw (If-Match); None: apply whatever changed since."""


class UpdateProfile:
    """Change one's own name, e-mail or password; the last two need the current password.

    A new password also ends every session of the account (refresh and access tokens)
    and sends a notice to the address the account had; a new address is unverified
    until the link sent to it is followed.
    Only the fields given are written: whatever an admin changes meanwhile stands.
    Wrong current passwords count as failed logins for the account's e-mail, so a
    stolen access token cannot be used to guess the password.
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

    async def execute(self, command: UpdateProfileCommand) -> User:
        full_name = command.full_name
        if full_name is not UNSET:
            check_full_name(full_name)
        email = None if command.email is UNSET else normalise_email(command.email)
        new_hash = None
        if command.password is not UNSET:
            check_password_rules(command.password)
        sensitive = email is not None or command.password is not UNSET

        previous_email: str | None = None
        if sensitive:
            async with self._uow() as uow:
                user = await load_user(uow, command.user_id)
            await self._check_current_password(user, command.current_password)
            previous_email = user.email
        if command.password is not UNSET:
            new_hash = await self._hasher.hash(command.password)

        new_address = email is not None and email != previous_email
        changes = UserChanges(
            full_name=full_name,
            email=UNSET if email is None else email,
            hashed_password=UNSET if new_hash is None else new_hash,
            # A new address is unproven until a link sent to it comes back.
            is_verified=False if new_address else UNSET,
            end_sessions=new_hash is not None,
        )
        async with self._uow() as uow:
            user = await save_user_changes(
                uow, command.user_id, changes, self._clock.now(), command.expected_version
            )
            if new_address and email is not None:
                uow.record(VerificationRequested(user_id=user.id, email=email))
            if new_hash is not None and previous_email is not None:
                # To the address the account had: if the change was not its owner's,
                # the owner hears of it there.
                uow.record(PasswordChanged(user_id=user.id, email=previous_email))
            await uow.commit()
        return user

    async def _check_current_password(self, user: User, current_password: str | None) -> None:
        if current_password is None:
            raise InvalidInput(
                "current_password is required to change the e-mail or password",
                field="current_password",
            )
        admission = await admit(
            self._throttle, [password_key(user)], "Too many wrong passwords; try again later"
        )
        check = await self._hasher.verify(current_password, user.hashed_password)
        if not check.valid:
            raise PermissionDenied("The current password is not correct")
        await self._throttle.clear(admission)


@dataclass(frozen=True, slots=True)
class ProfileWithStats:
    user: User
    stats: UserStats


class GetUserStats:
    """The caller's account with the count and sum of their placed (not cancelled) orders."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, user_id: int) -> ProfileWithStats:
        async with self._uow() as uow:
            user = await load_user(uow, user_id)
            stats = await uow.orders.stats_for_user(user_id)
        return ProfileWithStats(user=user, stats=stats)


@dataclass(frozen=True, slots=True)
class ListUsersCommand:
    page: int = 1
    size: int = 20
    after: str | None = None


class ListUsers:
    """Every account by id, a page at a time (superusers only, enforced at the edge)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: ListUsersCommand) -> Page[User]:
        if command.page < 1:
            raise InvalidInput("page must be 1 or more", field="query.page")
        if not 1 <= command.size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"size must be 1 to {MAX_PAGE_SIZE}", field="query.size")
        skip = (command.page - 1) * command.size
        page = page_request(skip, command.size, command.after, USERS_SORT)
        async with self._uow() as uow:
            found = await uow.users.list_page(page)
        return page_from_slice(found, page, USERS_SORT, user_position)


def user_position(user: User) -> KeysetPosition:
    return KeysetPosition(value=None, id=user.id)


class GetUser:
    """One account by id (the caller's own profile comes with authentication)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, user_id: int) -> User:
        async with self._uow() as uow:
            return await load_user(uow, user_id)


LAST_SUPERUSER = "The last active superuser cannot be demoted or deactivated"


@dataclass(frozen=True, slots=True)
class AdminUpdateUserCommand:
    user_id: int
    full_name: str | Unset | None = UNSET
    is_active: bool | Unset = UNSET
    is_superuser: bool | Unset = UNSET
    expected_version: int | None = None
    """The version the client saw (If-Match); None: apply whatever changed since."""


class AdminUpdateUser:
    """A superuser changes another account's name, activity or rank.

    Deactivating, reactivating, promoting or demoting ends every session of the
    account (refresh and access tokens), so the change holds at once. Removing the
    last active superuser is refused: the active superusers' rows are locked first, so
    two superusers demoting each other at once cannot both succeed.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: AdminUpdateUserCommand) -> User:
        if command.full_name is not UNSET:
            check_full_name(command.full_name)
        removes_rank = command.is_active is False or command.is_superuser is False
        async with self._uow() as uow:
            # Superusers first, then the account: every writer takes locks in this order.
            superusers = await uow.users.lock_active_superusers() if removes_rank else []
            user = await uow.users.get_for_update(command.user_id)
            if user is None:
                raise NotFound(f"User {command.user_id} not found")
            is_active = changed(command.is_active, user.is_active)
            is_superuser = changed(command.is_superuser, user.is_superuser)
            if user.email is None and (is_active or is_superuser):
                # No one can sign in to it, yet it would count as an operator.
                raise Conflict("An erased account cannot be reactivated or promoted")
            if superusers == [user.id] and not (is_active and is_superuser):
                raise Conflict(LAST_SUPERUSER)
            changes = UserChanges(
                full_name=command.full_name,
                is_active=command.is_active,
                is_superuser=command.is_superuser,
                end_sessions=(is_active, is_superuser) != (user.is_active, user.is_superuser),
            )
            user = await save_user_changes(
                uow, user.id, changes, self._clock.now(), command.expected_version
            )
            await uow.commit()
        return user


class DeactivateUser:
    """Close an account: it can no longer log in, its sessions end, its orders stay."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._update = AdminUpdateUser(uow, clock)

    async def execute(self, user_id: int, expected_version: int | None = None) -> None:
        await self._update.execute(
            AdminUpdateUserCommand(
                user_id=user_id, is_active=False, expected_version=expected_version
            )
        )


@dataclass(frozen=True, slots=True)
class CreateSuperuserCommand:
    email: str
    password: str


class CreateSuperuser:
    """Create a superuser, or promote (and re-password) an existing account."""

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock

    async def execute(self, command: CreateSuperuserCommand) -> User:
        email = normalise_email(command.email)
        check_password_rules(command.password)
        hashed = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None:
                user = await uow.users.add(
                    User(
                        id=NEW_ID,
                        email=email,
                        hashed_password=hashed,
                        full_name=None,
                        is_active=True,
                        is_superuser=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                changes = UserChanges(
                    hashed_password=hashed, is_active=True, is_superuser=True, end_sessions=True
                )
                user = await save_user_changes(uow, user.id, changes, now)
            await uow.commit()
        return user
