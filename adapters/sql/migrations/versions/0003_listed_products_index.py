"""Partial indexes of the products in the catalogue, for cheap counts and first pages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Counting the catalogue (``archived_at IS NULL``) for a page's total otherwise scans
the whole table (or, for a category, every row of it); with these indexes PostgreSQL
answers with an index-only scan that stops where the count does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_products_listed_id",
        "products",
        ["id"],
        postgresql_where=sa.text("archived_at IS NULL"),
        sqlite_where=sa.text("archived_at IS NULL"),
    )
    op.create_index(
        "ix_products_listed_category_id",
        "products",
        ["category", "id"],
        postgresql_where=sa.text("archived_at IS NULL"),
        sqlite_where=sa.text("archived_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_products_listed_category_id", table_name="products")
    op.drop_index("ix_products_listed_id", table_name="products")
