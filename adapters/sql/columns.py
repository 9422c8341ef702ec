"""The MetaData every table shares and the column types that make both databases agree:
UTC times, money to the cent, byte-ordered product names, 64-bit ids."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones: values are stored as naive UTC text and come back
    tagged UTC. Naive datetimes are refused, because their zone is a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        zone = value.tzinfo
        if zone is UTC:  # what asyncpg returns: no new object per value
            return value
        if zone is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_CENT = Decimal("0.01")


class Money(sa.TypeDecorator[Decimal]):
    """An exact amount with two decimal places.

    ``NUMERIC(p, 2)`` on PostgreSQL. SQLite has no decimal type (it would go through
    binary floating point), so there the amount is an integer number of cents, which
    keeps sums, comparisons and the ``price > 0`` check exact.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int) -> None:
        super().__init__(precision=precision, scale=2, asdecimal=True)
        self.precision = precision

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return int(Decimal(value).quantize(_CENT).scaleb(2))
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2).quantize(_CENT)
        if type(value) is Decimal:
            return value.quantize(_CENT)
        return Decimal(value).quantize(_CENT)


# Product names sort and compare byte-wise ("C" collation) on PostgreSQL, as they do
# on SQLite and in the in-memory twin, so keyset cursors mean the same thing everywhere.
PRODUCT_NAME = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


# Ids are 64-bit: the API accepts any id up to 2**63 - 1 (in paths, bodies and cursors),
# so every store must be able to compare one. On SQLite an INTEGER primary key is
# already 64-bit, and only INTEGER (not BIGINT) makes it the auto-incrementing rowid.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
