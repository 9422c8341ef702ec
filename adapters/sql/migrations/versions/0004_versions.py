"""Row versions for users and products, and the token version of refresh tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Every write bumps ``version`` (the ETag of the resource, checked by If-Match). A
refresh token remembers the user's token version when it was issued, so a later bump
(new password, deactivation, change of rank) ends it even if it was issued mid-change.
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("users", "products"):
        op.add_column(
            table, sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1"))
        )
    op.add_column(
        "refresh_tokens",
        sa.Column("token_version", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    # Tokens issued before this revision stay valid: they get their user's current version.
    op.execute(
        "UPDATE refresh_tokens SET token_version = "
        "(SELECT users.token_version FROM users WHERE users.id = refresh_tokens.user_id)"
    )


def downgrade() -> None:
    with warnings.catch_warnings():
        # Known and handled below: a SQLite rebuild skips the index on lower(email).
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        with op.batch_alter_table("refresh_tokens") as batch:
            batch.drop_column("token_version")
        for table in ("products", "users"):
            with op.batch_alter_table(table) as batch:
                batch.drop_column("version")
    if op.get_context().dialect.name == "sqlite":
        op.create_index(
            "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
        )
