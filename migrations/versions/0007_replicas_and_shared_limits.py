"""replica heartbeats and shared per-user counters

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:00:07

Only new tables: an expand step that replicas of the previous release ignore, so a
rolling upgrade can run it while they still serve (docs/OPERATIONS.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# only new tables, columns with defaults or nullable, indexes.
EXPANDS_ONLY = True


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_replicas"),
    )
    op.create_index("ix_replicas_last_seen_at", "replicas", ["last_seen_at"])
    op.create_table(
        "user_limits",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pending", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("pending_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tokens", sa.Float(), nullable=True),
        sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("told_pending", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("told_rate", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_limits"),
    )
    op.create_table(
        "limit_refusals",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", name="pk_limit_refusals"),
    )


def downgrade() -> None:
    op.drop_table("limit_refusals")
    op.drop_table("user_limits")
    op.drop_index("ix_replicas_last_seen_at", table_name="replicas")
    op.drop_table("replicas")
