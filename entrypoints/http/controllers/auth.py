"""Registering, logging in (OAuth2 form or JSON), refreshing and logging out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from litestar import Controller, Request, Response, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import ClientException
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import JSONBody

from application.auth import LogIn, LogInCommand, LogOutEverywhere, RegisterCommand, RegisterUser
from application.logins import LogOut, LogOutCommand, RefreshCommand, RefreshSession, TokenPair
from domain.errors import (
    InvalidCredentials,
    PermissionDenied,
    RefreshTokenReused,
    TooManyAttempts,
)
from domain.users import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH
from entrypoints.http import security_events
from entrypoints.http.content_types import UnsupportedMediaType, is_json, strict_json_body
from entrypoints.http.inputs import convert_fields, decode_body
from entrypoints.http.problems import problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.accounts import (
    LoginForm,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UserResponse,
    user_response,
)
from entrypoints.http.security import PUBLIC, PUBLIC_SECURITY, client_address
from entrypoints.metrics import metrics

LOGIN_PATH = "/api/v1/auth/login"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Tokens must not be kept by browsers or proxies (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NO_STORE_DOC = [
    ResponseHeader(name="Cache-Control", value="no-store", documentation_only=True),
]


def _token_response(pair: TokenPair) -> Response[TokenResponse]:
    return Response(
        TokenResponse(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type="bearer",
            expires_in=pair.expires_in,
        ),
        headers=NO_STORE,
    )


def _string(max_length: int, description: str, *, min_length: int = 1) -> Schema:
    return Schema(
        type=OpenAPIType.STRING,
        min_length=min_length,
        max_length=max_length,
        description=description,
    )


@dataclass
class LoginOperation(Operation):
    """Documents both bodies the login accepts: the OAuth2 form and JSON."""

    def __post_init__(self) -> None:
        password = _string(PASSWORD_MAX_LENGTH, "The account's password")
        self.request_body = RequestBody(
            required=True,
            description="OAuth2 password flow form (username = e-mail), or JSON",
            content={
                FORM_MEDIA_TYPE: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["username", "password"],
                        properties={
                            "username": _string(EMAIL_MAX_LENGTH, "The account's e-mail"),
                            "password": password,
                            "grant_type": Schema(type=OpenAPIType.STRING, enum=["password"]),
                        },
                    )
                ),
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["email", "password"],
                        additional_properties=False,
                        properties={
                            "email": _string(EMAIL_MAX_LENGTH, "The account's e-mail"),
                            "password": password,
                        },
                    )
                ),
            },
        )


async def _credentials(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """E-mail and password from either body the login accepts."""
    media_type = request.content_type[0]
    body = await request.body()
    if media_type == FORM_MEDIA_TYPE:
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            raise ClientException("Malformed form body") from None
        form = convert_fields(fields, LoginForm)
        return form.username, form.password
    if is_json(media_type):
        login = decode_body(body, LoginRequest)
        return login.email, login.password
    raise UnsupportedMediaType(f"Send {FORM_MEDIA_TYPE} or application/json")


class AuthController(Controller):
    """Accounts and sessions."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/register",
        operation_id="register",
        summary="Create an account",
        opt=PUBLIC,
        guards=[strict_json_body],
        security=PUBLIC_SECURITY,
        responses=problem_responses(409, 422),
    )
    async def register(
        self, data: JSONBody[RegisterRequest], register_user: Provided[RegisterUser]
    ) -> UserResponse:
        user = await register_user.execute(
            RegisterCommand(email=data.email, password=data.password, full_name=data.full_name)
        )
        return user_response(user)

    @post(
        "/login",
        operation_id="login",
        summary="Log in: an access and a refresh token",
        description="OAuth2 password flow (form with `username` = e-mail and `password`) or "
        'JSON `{"email", "password"}`. Repeated failures are throttled (429).',
        status_code=200,
        opt=PUBLIC,
        security=PUBLIC_SECURITY,
        operation_class=LoginOperation,
        response_headers=NO_STORE_DOC,
        responses=problem_responses(400, 401, 403, 415, 422, 429),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        log_in: Provided[LogIn],
        trusted_proxies: Provided[tuple[str, ...]],
    ) -> Response[TokenResponse]:
        email, password = await _credentials(request)
        client = client_address(request.scope, trusted_proxies)
        try:
            pair = await log_in.execute(
                LogInCommand(
                    email=email,
                    password=password,
                    client_address=client,
                    user_agent=request.headers.get("user-agent"),
                )
            )
        except InvalidCredentials:
            security_events.login_failed(email, client)
            metrics().logins_failed.inc()
            raise
        except TooManyAttempts as throttled:
            security_events.login_throttled(email, client, throttled.retry_after_seconds)
            metrics().logins_throttled.inc()
            raise
        except PermissionDenied:
            security_events.login_inactive(email, client)
            raise
        return _token_response(pair)

    @post(
        "/refresh",
        operation_id="refresh",
        summary="Trade a refresh token for a new pair (the old one stops working)",
        status_code=200,
        opt=PUBLIC,
        guards=[strict_json_body],
        security=PUBLIC_SECURITY,
        response_headers=NO_STORE_DOC,
        responses=problem_responses(401, 422),
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RefreshRequest],
        refresh_session: Provided[RefreshSession],
        trusted_proxies: Provided[tuple[str, ...]],
    ) -> Response[TokenResponse]:
        client = client_address(request.scope, trusted_proxies)
        try:
            pair = await refresh_session.execute(
                RefreshCommand(
                    refresh_token=data.refresh_token,
                    client_address=client,
                    user_agent=request.headers.get("user-agent"),
                )
            )
        except RefreshTokenReused as reused:
            security_events.refresh_token_reused(reused.user_id, client)
            raise
        return _token_response(pair)

    @post(
        "/logout",
        operation_id="logout",
        summary="End the login this refresh token belongs to",
        status_code=204,
        responses=problem_responses(401, 422),
        guards=[strict_json_body],
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LogoutRequest],
        log_out: Provided[LogOut],
    ) -> None:
        await log_out.execute(
            LogOutCommand(user_id=request.user.id, refresh_token=data.refresh_token)
        )

    @post(
        "/logout-all",
        operation_id="logout_all",
        summary="End every session of my account",
        description="All refresh tokens of the account stop working, and so do all access "
        "tokens issued before now (this one included).",
        status_code=204,
        responses=problem_responses(401),
    )
    async def logout_all(
        self, request: Request[Any, Any, Any], log_out_everywhere: Provided[LogOutEverywhere]
    ) -> None:
        await log_out_everywhere.execute(request.user.id)
