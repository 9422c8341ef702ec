"""The schema: SQLAlchemy Core tables on one MetaData, every index and constraint named.

Alembic migrations must produce exactly this (a contract test compares them).
Domain classes are never mapped onto these tables; ``rows`` maps rows to them.
The shared MetaData and column types are in ``columns``; importing ``metadata`` from
here guarantees every table is registered on it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from adapters.sql.columns import ID, PRODUCT_NAME, Money, UtcDateTime, metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    # NULL once the account is erased: the row stays (orders point at it), the address goes.
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("hashed_password", sa.String(255), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("is_superuser", sa.Boolean, nullable=False),
    sa.Column("token_version", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # Bumped by every write (ETags, If-Match).
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    # Whether the current address was proven by a link sent to it.
    sa.Column("is_verified", sa.Boolean, nullable=False, server_default=sa.false()),
)
# E-mails are stored normalised, but the index still guards against any other writer.
sa.Index("uq_users_email_lower", sa.func.lower(users.c.email), unique=True)


refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(128), primary_key=True),
    sa.Column("family_id", sa.String(64), nullable=False, index=True),
    sa.Column(
        "user_id",
        ID,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    sa.Column("used_at", UtcDateTime, nullable=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    # The user's token version at issue; refreshing needs it to be still current.
    sa.Column("token_version", sa.Integer, nullable=False, server_default=sa.text("0")),
)


# One-time e-mail tokens (verification, password reset), kept only as SHA-256 digests.
email_tokens = sa.Table(
    "email_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        ID,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("purpose", sa.String(32), nullable=False),
    # The address the link went to: verifying it proves that address only.
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    sa.Column("used_at", UtcDateTime, nullable=True),
    sa.CheckConstraint("purpose IN ('verify_email', 'reset_password')", name="purpose_known"),
)
# A user's tokens of one purpose: a new reset link ends the older ones, and a reset
# is accepted only from the newest. Leads with user_id, so it serves the foreign key.
sa.Index(None, email_tokens.c.user_id, email_tokens.c.purpose, email_tokens.c.issued_at)


# One row per login (refresh-token family): what its owner sees in the list of sessions,
# and the row a refresh and a revocation of that login both update, so they serialise.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("family_id", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id",
        ID,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("user_agent", sa.String(512), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
)
# A user's logins, newest first; leads with user_id, so it also serves the foreign key.
sa.Index(None, sessions.c.user_id, sessions.c.id)


products = sa.Table(
    "products",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", PRODUCT_NAME, nullable=False),
    sa.Column("slug", sa.String(220), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("price", Money(10), nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("category", sa.String(100), nullable=False),
    sa.Column("image_url", sa.String(2048), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("archived_at", UtcDateTime, nullable=True),
    # Bumped by every write, orders' stock changes included (ETags, If-Match).
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.CheckConstraint("price > 0", name="price_positive"),
    sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
)
# (sort column, id) pairs serve both the ORDER BY and the keyset comparison.
sa.Index(None, products.c.category, products.c.id)
sa.Index(None, products.c.name, products.c.id)
sa.Index(None, products.c.price, products.c.id)
sa.Index(None, products.c.created_at, products.c.id)
# The catalogue (rows not archived) by id: a count of it is an index-only scan of this
# small index instead of a scan of the whole table, and page 1 reads it in order.
sa.Index(
    "ix_products_listed_id",
    products.c.id,
    postgresql_where=products.c.archived_at.is_(None),
    sqlite_where=products.c.archived_at.is_(None),
)
# The same for one category: its (capped) count stops after the first rows it needs.
sa.Index(
    "ix_products_listed_category_id",
    products.c.category,
    products.c.id,
    postgresql_where=products.c.archived_at.is_(None),
    sqlite_where=products.c.archived_at.is_(None),
)
# PostgreSQL only: the trigrams of the listed products' lower-cased names, so that the
# search's ``lower(name) LIKE '%term%'`` reads the rows holding the term's trigrams
# instead of the whole catalogue (migration 0007; pg_trgm, created just below).
sa.Index(
    "ix_products_listed_name_trgm",
    sa.func.lower(products.c.name).label("lower_name"),
    postgresql_using="gin",
    postgresql_ops={"lower_name": "gin_trgm_ops"},
    postgresql_where=products.c.archived_at.is_(None),
).ddl_if(dialect="postgresql")


@sa.event.listens_for(metadata, "before_create")
def _create_trigram_extension(_target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")


orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    # The largest order the API accepts: 100 lines x 1000 units x 99,999,999.99.
    sa.Column("total", Money(15), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("status IN ('placed', 'cancelled')", name="status_known"),
)
# Leads with user_id, so it also serves the foreign key; id gives "newest first".
sa.Index(None, orders.c.user_id, orders.c.id)
# The filtered lists of orders, newest first: one customer's by status, everyone's by status.
sa.Index(None, orders.c.user_id, orders.c.status, orders.c.id)
sa.Index(None, orders.c.status, orders.c.id)


order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column(
        "order_id",
        ID,
        sa.ForeignKey("orders.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("product_id", ID, sa.ForeignKey("products.id"), primary_key=True),
    # Lines come back in the order the customer listed them.
    sa.Column("position", sa.SmallInteger, nullable=False),
    sa.Column("product_name", sa.String(200), nullable=False),
    sa.Column("unit_price", Money(10), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_range"),
)
sa.Index(None, order_lines.c.product_id)


idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column(
        "user_id",
        ID,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(128), nullable=False),
    sa.Column("order_id", ID, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)


# Domain events waiting to be acted on, written in the transaction that caused them.
# The id never goes back (AUTOINCREMENT on SQLite, an identity on PostgreSQL): it is
# part of each e-mail's Message-ID, which must not be reused after a purge.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column(
        "id",
        ID,
        sa.Identity(),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("locked_until", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    sa.Column("failed_at", UtcDateTime, nullable=True),
    # The account the message is about: an erased account's messages are dropped.
    sa.Column("user_id", ID, nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    sqlite_autoincrement=True,
)
# Serves the dispatcher's claim (pending and due) and the purge (delivered).
sa.Index(None, outbox.c.status, outbox.c.next_attempt_at)
sa.Index(None, outbox.c.user_id)


__all__ = [
    "email_tokens",
    "idempotency_keys",
    "metadata",
    "order_lines",
    "orders",
    "outbox",
    "products",
    "refresh_tokens",
    "sessions",
    "users",
]
