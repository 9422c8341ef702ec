"""The rules the domain owns, each defined once and used by every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import InsufficientStock, InvalidInput
from domain.products import Product
from domain.sessions import RefreshToken
from domain.users import FULL_NAME_MAX_LENGTH, check_full_name, fold_email, normalise_email

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _product(stock: int) -> Product:
    return Product(
        id=1,
        name="Kettle",
        slug="kettle",
        description=None,
        price=Decimal("10.00"),
        stock=stock,
        category="kitchen",
        image_url=None,
        created_at=NOW,
        updated_at=NOW,
    )


def _token(**changes: object) -> RefreshToken:
    token = RefreshToken(
        token_hash="h",
        family_id="f",
        user_id=1,
        issued_at=NOW,
        expires_at=NOW + timedelta(days=1),
        token_version=3,
    )
    for name, value in changes.items():
        setattr(token, name, value)
    return token


def test_taking_stock_never_goes_below_zero() -> None:
    product = _product(stock=2)
    product.take(2)
    assert product.stock == 0
    with pytest.raises(InsufficientStock):
        product.take(1)
    assert product.stock == 0


def test_giving_stock_back_restores_it() -> None:
    product = _product(stock=1)
    product.take(1)
    product.give_back(1)
    assert product.stock == 1


def test_a_refresh_token_is_usable_until_spent_revoked_or_expired() -> None:
    assert _token().is_usable(NOW)
    assert not _token(used_at=NOW).is_usable(NOW)
    assert not _token(revoked_at=NOW).is_usable(NOW)
    assert _token(used_at=NOW).is_spent()
    assert _token(revoked_at=NOW).is_spent()
    assert _token().is_expired(NOW + timedelta(days=1))
    assert not _token().is_usable(NOW + timedelta(days=1))


def test_a_refresh_token_is_outlived_by_any_later_token_version() -> None:
    assert not _token().outlived_by(3)
    assert _token().outlived_by(4)


def test_e_mail_folding_trims_and_lowers_without_validating() -> None:
    assert fold_email("  Alice@Example.COM ") == "alice@example.com"
    assert fold_email("not an address") == "not an address"
    assert normalise_email("  Alice@Example.COM ") == "alice@example.com"
    with pytest.raises(InvalidInput):
        normalise_email("not an address")


def test_a_full_name_has_a_maximum_length() -> None:
    assert check_full_name(None) is None
    assert check_full_name("x" * FULL_NAME_MAX_LENGTH) == "x" * FULL_NAME_MAX_LENGTH
    with pytest.raises(InvalidInput):
        check_full_name("x" * (FULL_NAME_MAX_LENGTH + 1))
