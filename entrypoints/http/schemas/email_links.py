"""HTTP schemas of the accounts context's e-mail link flows: verification and reset."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from domain.users import normalise_email
from entrypoints.http.schemas.accounts import Email, NewPassword
from entrypoints.http.schemas.common import FieldRules

# Any string up to a sane size: whether it is a token we issued is for the use case to
# say (400), not the schema (422), so a mangled link gets the same answer as a used one.
EmailTokenValue = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=1024,
        description="The `token` query parameter of the link in the e-mail",
    ),
]


class VerifyEmailRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: EmailTokenValue


class ForgotPasswordRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    field_rules: ClassVar[FieldRules] = {"email": normalise_email}

    email: Email


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: EmailTokenValue
    password: NewPassword


class AcceptedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The request was taken; what follows happens by e-mail."""

    detail: str
