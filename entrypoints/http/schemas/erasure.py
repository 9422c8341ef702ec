"""HTTP schema of erasing one's own account."""

from __future__ import annotations

import msgspec

from entrypoints.http.schemas.accounts import GivenPassword


class EraseAccountRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The account's current password, as proof that its owner asks."""

    current_password: GivenPassword
