"""Sessions: one row per login (refresh-token family) with its agent, address and times.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Every family of refresh tokens already stored becomes a session, so that tokens issued
before the upgrade keep working: created when its first token was issued, last used
when its newest one was, ended when none of its tokens is usable any more. Agents and
addresses were not recorded then and stay empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("family_id", sa.String(64), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("family_id", name="uq_sessions_family_id"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_sessions_user_id_id", "sessions", ["user_id", "id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.execute(
        "INSERT INTO sessions"
        " (family_id, user_id, created_at, last_used_at, expires_at, revoked_at)"
        " SELECT family_id, MIN(user_id), MIN(issued_at), MAX(issued_at), MAX(expires_at),"
        " CASE WHEN SUM(CASE WHEN used_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) > 0"
        " THEN NULL ELSE MAX(COALESCE(revoked_at, used_at)) END"
        " FROM refresh_tokens GROUP BY family_id"
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_user_id_id", table_name="sessions")
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    op.drop_table("sessions")
