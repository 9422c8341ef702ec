"""The e-mail link flows: verifying an address, and resetting a forgotten password.

Tokens arrive in JSON bodies only (never in a path or query string), so they stay
out of access logs, proxies' logs and browser histories.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody

from application.email_verification import (
    ResendVerification,
    ResendVerificationCommand,
    VerifyEmail,
    VerifyEmailCommand,
)
from application.password_reset import (
    ForgotPassword,
    ForgotPasswordCommand,
    ResetPassword,
    ResetPasswordCommand,
)
from entrypoints.http.content_types import strict_json_body
from entrypoints.http.problems import problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.accounts import UserResponse, user_response
from entrypoints.http.schemas.email_links import (
    AcceptedResponse,
    ForgotPasswordRequest,
    ResetPasswordRequest,
    VerifyEmailRequest,
)
from entrypoints.http.security import (
    PUBLIC,
    PUBLIC_SECURITY,
    AuthenticatedRequest,
    client_address,
)

RESET_REQUESTED = (
    "If an active account has this address, a link to reset its password is on its way."
)
VERIFICATION_SENT = "A new verification link is on its way to the account's address."


class EmailLinksController(Controller):
    """Flows that go through a link sent by e-mail."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/verify-email",
        operation_id="verify_email",
        summary="Prove my e-mail address with the token of a verification link",
        description="The token comes from the link `{FRONTEND_URL}/verify-email?token=...` "
        "in the welcome or verification e-mail. An invalid, expired "
        "(`EMAIL_TOKEN_EXPIRE_HOURS`) or already used token is a 400.",
        status_code=200,
        opt=PUBLIC,
        guards=[strict_json_body],
        security=PUBLIC_SECURITY,
        responses=problem_responses(400, 422),
    )
    async def verify_email(
        self, data: JSONBody[VerifyEmailRequest], verify_email: Provided[VerifyEmail]
    ) -> UserResponse:
        user = await verify_email.execute(VerifyEmailCommand(token=data.token))
        return user_response(user)

    @post(
        "/verify-email/resend",
        operation_id="resend_verification_email",
        summary="Send me a new verification link",
        description="Throttled like logins (429 with Retry-After); an account whose address "
        "is already verified is a 409.",
        status_code=202,
        responses=problem_responses(401, 409, 429),
    )
    async def resend_verification(
        self,
        request: AuthenticatedRequest,
        resend_verification: Provided[ResendVerification],
        trusted_proxies: Provided[tuple[str, ...]],
    ) -> AcceptedResponse:
        await resend_verification.execute(
            ResendVerificationCommand(
                user_id=request.user.id,
                client_address=client_address(request.scope, trusted_proxies),
            )
        )
        return AcceptedResponse(detail=VERIFICATION_SENT)

    @post(
        "/forgot-password",
        operation_id="forgot_password",
        summary="Ask for a password reset link",
        description="Always the same 202 answer, in about the same time, whether or not an "
        "account has the address; an active account gets one e-mail with a link "
        "`{FRONTEND_URL}/reset-password?token=...`. Throttled per address and per client "
        "(429 with Retry-After).",
        status_code=202,
        opt=PUBLIC,
        guards=[strict_json_body],
        security=PUBLIC_SECURITY,
        responses=problem_responses(422, 429),
    )
    async def forgot_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ForgotPasswordRequest],
        forgot_password: Provided[ForgotPassword],
        trusted_proxies: Provided[tuple[str, ...]],
    ) -> AcceptedResponse:
        client = client_address(request.scope, trusted_proxies)
        await forgot_password.execute(
            ForgotPasswordCommand(email=data.email, client_address=client)
        )
        return AcceptedResponse(detail=RESET_REQUESTED)

    @post(
        "/reset-password",
        operation_id="reset_password",
        summary="Set a new password with the token of a reset link",
        description="The token is single-use, expires after "
        "`PASSWORD_RESET_TOKEN_EXPIRE_MINUTES`, and only the newest requested link works "
        "(else 400). Every session of the account ends, and the address counts as verified.",
        status_code=204,
        opt=PUBLIC,
        guards=[strict_json_body],
        security=PUBLIC_SECURITY,
        responses=problem_responses(400, 422),
    )
    async def reset_password(
        self, data: JSONBody[ResetPasswordRequest], reset_password: Provided[ResetPassword]
    ) -> None:
        await reset_password.execute(ResetPasswordCommand(token=data.token, password=data.password))
