"""64-bit ids and order totals as large as the largest order the API accepts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

The API accepts ids up to 2**63 - 1 and orders of 100 lines x 1000 units x
99,999,999.99: on PostgreSQL the 32-bit ids and NUMERIC(12, 2) totals made such input
fail with a 500, while SQLite (64-bit INTEGER, integer cents) accepted it. Only
PostgreSQL changes; SQLite's columns already hold every such value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS = (
    ("users", "id"),
    ("refresh_tokens", "user_id"),
    ("products", "id"),
    ("orders", "id"),
    ("orders", "user_id"),
    ("order_lines", "order_id"),
    ("order_lines", "product_id"),
    ("idempotency_keys", "user_id"),
    ("idempotency_keys", "order_id"),
)
SEQUENCES = ("users_id_seq", "products_id_seq", "orders_id_seq")


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _on_postgresql():
        return
    for table, column in ID_COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS bigint")
    op.alter_column(
        "orders", "total", type_=sa.Numeric(15, 2), existing_type=sa.Numeric(12, 2)
    )


def downgrade() -> None:
    if not _on_postgresql():
        return
    op.alter_column(
        "orders", "total", type_=sa.Numeric(12, 2), existing_type=sa.Numeric(15, 2)
    )
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS integer")
    for table, column in ID_COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
