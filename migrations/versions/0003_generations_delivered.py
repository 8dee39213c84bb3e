"""Generations.delivered (whether Telegram confirmed the reply)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:00:03

Rows written before this revision were answered (the old code stored a generation only
right before replying), so they count as delivered: the server default fills them in.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# only new tables, columns with defaults or nullable, indexes.
EXPANDS_ONLY = True


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: no table rebuild on SQLite.
    op.add_column(
        "generations",
        sa.Column("delivered", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_column("delivered")
