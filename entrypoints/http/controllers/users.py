"""One's own account (``/me``) and, for superusers, everybody's."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch
from litestar.params import FromPath, JSONBody, QueryParameter

from application.erasure import EraseAccount, EraseAccountCommand
from application.pagination import MAX_PAGE_SIZE
from application.users import (
    AdminUpdateUser,
    AdminUpdateUserCommand,
    DeactivateUser,
    GetUser,
    GetUserStats,
    ListUsers,
    ListUsersCommand,
    UpdateProfile,
    UpdateProfileCommand,
)
from domain.errors import PermissionDenied
from domain.users import User
from entrypoints.http import security_events
from entrypoints.http.conditional import (
    ETAG_HEADER,
    NOT_MODIFIED,
    IfMatch,
    IfNoneMatch,
    entity_tag,
    expected_version,
    tagged,
)
from entrypoints.http.content_types import strict_json_body
from entrypoints.http.problems import problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.accounts import (
    AdminUserUpdateRequest,
    ProfileUpdateRequest,
    UserPage,
    UserResponse,
    UserStatsResponse,
    user_page,
    user_response,
)
from entrypoints.http.schemas.common import given, money, utc
from entrypoints.http.schemas.erasure import EraseAccountRequest
from entrypoints.http.security import AuthenticatedRequest, client_address, superuser_only

MAX_PAGE_NUMBER = 1_000_000


def _tagged(user: User, if_none_match: str | None = None) -> Response[UserResponse]:
    return tagged(user_response(user), entity_tag("user", user.id, user.version), if_none_match)


def _expected(if_match: str | None, user_id: int) -> int | None:
    return expected_version(if_match, "user", user_id)


class ProfileController(Controller):
    """The caller's own account."""

    path = "/api/v1/users/me"
    tags = ["users"]

    @get(
        "/",
        operation_id="get_my_profile",
        summary="My account",
        responses={**problem_responses(401), **NOT_MODIFIED},
        response_headers=ETAG_HEADER,
    )
    async def me(
        self, request: AuthenticatedRequest, if_none_match: IfNoneMatch = None
    ) -> Response[UserResponse]:
        # The user was loaded by authentication for this very request: no second lookup.
        return _tagged(request.user, if_none_match)

    @patch(
        "/",
        operation_id="update_my_profile",
        summary="Change my name, e-mail or password",
        description="Changing `email` or `password` requires `current_password`. Wrong "
        "current passwords count as failed logins for the account's e-mail (429 when over "
        "the limit).",
        guards=[strict_json_body],
        responses=problem_responses(401, 403, 409, 412, 422, 429),
        response_headers=ETAG_HEADER,
    )
    async def update_me(
        self,
        request: AuthenticatedRequest,
        data: JSONBody[ProfileUpdateRequest],
        update_profile: Provided[UpdateProfile],
        trusted_proxies: Provided[tuple[str, ...]],
        if_match: IfMatch = None,
    ) -> Response[UserResponse]:
        current_password = given(data.current_password)
        try:
            user = await update_profile.execute(
                UpdateProfileCommand(
                    user_id=request.user.id,
                    full_name=given(data.full_name),
                    email=given(data.email),
                    password=given(data.password),
                    current_password=None
                    if not isinstance(current_password, str)
                    else current_password,
                    expected_version=_expected(if_match, request.user.id),
                )
            )
        except PermissionDenied:
            security_events.password_check_failed(
                request.user.id, client_address(request.scope, trusted_proxies)
            )
            raise
        return _tagged(user)

    @delete(
        "/",
        operation_id="erase_my_account",
        summary="Erase my account",
        description="Needs `current_password` (a wrong one is a 403 and counts as a failed "
        "login; 429 past the limit). The e-mail address and name are removed, the password "
        "stops working, every session ends (access and refresh tokens) and the address may "
        "register again. Orders stay, without personal data. The last active superuser "
        "cannot erase their account (409).",
        guards=[strict_json_body],
        responses=problem_responses(400, 401, 403, 409, 412, 415, 422, 429),
    )
    async def erase_me(
        self,
        request: AuthenticatedRequest,
        data: JSONBody[EraseAccountRequest],
        erase_account: Provided[EraseAccount],
        trusted_proxies: Provided[tuple[str, ...]],
        if_match: IfMatch = None,
    ) -> None:
        command = EraseAccountCommand(
            user_id=request.user.id,
            current_password=data.current_password,
            expected_version=_expected(if_match, request.user.id),
        )
        client = client_address(request.scope, trusted_proxies)
        try:
            await erase_account.execute(command)
        except PermissionDenied:
            security_events.password_check_failed(request.user.id, client)
            raise
        security_events.account_erased(request.user.id, client)

    @get(
        "/stats",
        operation_id="get_my_stats",
        summary="My account with my order count and total spent",
        responses=problem_responses(401),
    )
    async def stats(
        self, request: AuthenticatedRequest, get_user_stats: Provided[GetUserStats]
    ) -> UserStatsResponse:
        found = await get_user_stats.execute(request.user.id)
        user, stats = found.user, found.stats
        return UserStatsResponse(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            is_active=user.is_active,
            is_superuser=user.is_superuser,
            is_verified=user.is_verified,
            created_at=utc(user.created_at),
            updated_at=utc(user.updated_at),
            order_count=stats.order_count,
            total_spent=money(stats.total_spent),
        )


class UserAdminController(Controller):
    """Every account, for superusers."""

    path = "/api/v1/users"
    tags = ["users"]
    guards = [superuser_only]

    @get(
        "/",
        operation_id="list_users",
        summary="All accounts, by id",
        responses=problem_responses(401, 403, 422),
    )
    async def list_users(
        self,
        list_users: Provided[ListUsers],
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_NUMBER, description="1-based")] = 1,
        size: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 20,
        after: Annotated[
            str | None,
            QueryParameter(max_length=1024, description="next_cursor of the previous page"),
        ] = None,
    ) -> UserPage:
        found = await list_users.execute(ListUsersCommand(page=page, size=size, after=after))
        return user_page(found)

    @get(
        "/{user_id:int}",
        operation_id="get_user",
        summary="One account",
        responses={**problem_responses(401, 403, 404), **NOT_MODIFIED},
        response_headers=ETAG_HEADER,
    )
    async def get_user(
        self,
        user_id: FromPath[int],
        get_user: Provided[GetUser],
        if_none_match: IfNoneMatch = None,
    ) -> Response[UserResponse]:
        user = await get_user.execute(user_id)
        return _tagged(user, if_none_match)

    @patch(
        "/{user_id:int}",
        operation_id="update_user",
        summary="Change an account's name, activity or rank",
        description="Deactivating, reactivating, promoting or demoting ends every session "
        "of the account. Demoting or deactivating the last active superuser is a conflict.",
        responses=problem_responses(401, 403, 404, 409, 412, 422),
        response_headers=ETAG_HEADER,
        guards=[strict_json_body],
    )
    async def update_user(
        self,
        request: AuthenticatedRequest,
        user_id: FromPath[int],
        data: JSONBody[AdminUserUpdateRequest],
        admin_update_user: Provided[AdminUpdateUser],
        trusted_proxies: Provided[tuple[str, ...]],
        if_match: IfMatch = None,
    ) -> Response[UserResponse]:
        command = AdminUpdateUserCommand(
            user_id=user_id,
            full_name=given(data.full_name),
            is_active=given(data.is_active),
            is_superuser=given(data.is_superuser),
            expected_version=_expected(if_match, user_id),
        )
        user = await admin_update_user.execute(command)
        changes = {
            name: value
            for name, value in (
                ("is_active", command.is_active),
                ("is_superuser", command.is_superuser),
            )
            if isinstance(value, bool)
        }
        if changes:
            security_events.role_changed(
                request.user.id, user.id, client_address(request.scope, trusted_proxies), **changes
            )
        return _tagged(user)

    @delete(
        "/{user_id:int}",
        operation_id="deactivate_user",
        summary="Deactivate an account (its orders stay)",
        description="Every session of the account ends. Deactivating the last active "
        "superuser is a conflict.",
        responses=problem_responses(401, 403, 404, 409, 412),
    )
    async def deactivate_user(
        self,
        request: AuthenticatedRequest,
        user_id: FromPath[int],
        deactivate_user: Provided[DeactivateUser],
        trusted_proxies: Provided[tuple[str, ...]],
        if_match: IfMatch = None,
    ) -> None:
        await deactivate_user.execute(user_id, _expected(if_match, user_id))
        security_events.role_changed(
            request.user.id,
            user_id,
            client_address(request.scope, trusted_proxies),
            is_active=False,
        )
