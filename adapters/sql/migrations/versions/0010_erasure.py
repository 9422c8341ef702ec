"""Erasure: an erased account keeps its row (its orders point at it) without an e-mail.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

``users.email`` becomes nullable: NULL is the erased account, and the unique index on
``lower(email)`` lets any number of NULLs be, so the address is free to register again
on both databases. The outbox names the account each message is about
(``outbox.user_id``, taken from the payload of messages already queued), so that the
messages of an erased account can be dropped with one indexed statement.

Downgrading gives each erased account a placeholder address that no registration can
take (it has no ``@``), since the older schema requires one.
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _set_email_nullable(nullable: bool) -> None:
    with warnings.catch_warnings():
        # Known and handled below: a SQLite rebuild skips the index on lower(email).
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        with op.batch_alter_table("users") as batch:
            batch.alter_column("email", existing_type=sa.String(254), nullable=nullable)
    if op.get_context().dialect.name == "sqlite":
        op.create_index(
            "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
        )


def upgrade() -> None:
    _set_email_nullable(True)
    op.add_column("outbox", sa.Column("user_id", _ID, nullable=True))
    op.create_index("ix_outbox_user_id", "outbox", ["user_id"])
    if op.get_context().dialect.name == "sqlite":
        op.execute("UPDATE outbox SET user_id = json_extract(payload, '$.user_id')")
    else:
        op.execute("UPDATE outbox SET user_id = (payload::json ->> 'user_id')::bigint")


def downgrade() -> None:
    op.drop_index("ix_outbox_user_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("user_id")
    op.execute("UPDATE users SET email = 'erased-account-' || id WHERE email IS NULL")
    _set_email_nullable(False)
