"""HTTP schemas of the accounts context: registration, login, tokens and users."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.pagination import Page
from domain.users import (
    EMAIL_MAX_LENGTH,
    FULL_NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    User,
    normalise_email,
)
from entrypoints.http.schemas.common import FieldRules, Money, Timestamp, page_fields, utc

Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=EMAIL_MAX_LENGTH,
        description="E-mail address, compared case-insensitively",
        examples=["alice@example.com"],
    ),
]


NewPassword = Annotated[
    str,
    Meta(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description=f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters",
    ),
]


# A password being checked (not set) only needs a sane size bound: argon2 of a huge
# input would cost the server, and no stored password is longer than the maximum.
GivenPassword = Annotated[str, Meta(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


FullName = Annotated[str, Meta(max_length=FULL_NAME_MAX_LENGTH)]


RefreshTokenValue = Annotated[str, Meta(min_length=1, max_length=1024)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    field_rules: ClassVar[FieldRules] = {"email": normalise_email}

    email: Email
    password: NewPassword
    full_name: FullName | None = None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The JSON form of a login; the OAuth2 form uses ``username`` for the e-mail."""

    email: Annotated[str, Meta(min_length=1, max_length=EMAIL_MAX_LENGTH)]
    password: GivenPassword


class LoginForm(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """The OAuth2 password flow form (``grant_type``, ``scope`` and client fields are ignored)."""

    username: Annotated[str, Meta(min_length=1, max_length=EMAIL_MAX_LENGTH)]
    password: GivenPassword
    grant_type: Literal["password"] | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    refresh_token: RefreshTokenValue


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    refresh_token: RefreshTokenValue


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int


class UserResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str | None
    """null once the account is erased."""
    full_name: str | None
    is_active: bool
    is_superuser: bool
    is_verified: bool
    created_at: Timestamp
    updated_at: Timestamp


class UserStatsResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str | None
    full_name: str | None
    is_active: bool
    is_superuser: bool
    is_verified: bool
    created_at: Timestamp
    updated_at: Timestamp
    order_count: int
    total_spent: Money


class ProfileUpdateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changing ``email`` or ``password`` requires ``current_password``."""

    field_rules: ClassVar[FieldRules] = {"email": normalise_email}

    full_name: FullName | UnsetType | None = UNSET
    email: Email | UnsetType = UNSET
    password: NewPassword | UnsetType = UNSET
    current_password: GivenPassword | UnsetType | None = UNSET


class AdminUserUpdateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    full_name: FullName | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET
    is_superuser: bool | UnsetType = UNSET


class UserPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[UserResponse]
    total: int
    page: int
    size: int
    pages: int
    next_cursor: str | None


def user_response(user: User) -> UserResponse:
    return UserResponse(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        is_verified=user.is_verified,
        created_at=utc(user.created_at),
        updated_at=utc(user.updated_at),
    )


def user_page(page: Page[User]) -> UserPage:
    return UserPage(
        items=[user_response(user) for user in page.items],
        **page_fields(page),
    )
