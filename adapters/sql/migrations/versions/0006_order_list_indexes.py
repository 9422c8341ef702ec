"""Indexes for the operators' view of orders: by status, for everyone or one customer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

``GET /orders`` lists newest first (descending id) for one customer, for one customer
and a status, for every customer (the primary key serves it) or for every customer
and a status. ``(user_id, id)`` already serves the first; these serve the filtered
ones, so a page and its total never scan orders of other customers or statuses.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_user_id_status_id", "orders", ["user_id", "status", "id"])
    op.create_index("ix_orders_status_id", "orders", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_id", table_name="orders")
    op.drop_index("ix_orders_user_id_status_id", table_name="orders")
