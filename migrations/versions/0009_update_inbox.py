"""update inbox

The ``updates`` table holds every Telegram update from the moment it is recorded (before
Telegram is told it arrived) until its outcome is stored and the row is pruned; a
generation records the update that asked for it (``generations.update_id``), so a
process taking over a dead one's update sends the stored text instead of a second one.

This migration only expands the schema (a new table, a new nullable column and
indexes): a bot one release behind keeps working on a database migrated by it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# only new tables, columns with defaults or nullable, indexes.
EXPANDS_ONLY = True


def upgrade() -> None:
    op.create_table(
        "updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_updates")),
    )
    op.create_index(op.f("ix_updates_claimed_until"), "updates", ["claimed_until"])
    op.create_index(op.f("ix_updates_done_at"), "updates", ["done_at"])
    op.add_column("generations", sa.Column("update_id", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_generations_update_id"), "generations", ["update_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_generations_update_id"), table_name="generations")
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_column("update_id")
    op.drop_index(op.f("ix_updates_done_at"), table_name="updates")
    op.drop_index(op.f("ix_updates_claimed_until"), table_name="updates")
    op.drop_table("updates")
