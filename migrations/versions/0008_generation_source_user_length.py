"""generation source and per-user length

Generations record what asked for them (``command``, ``button``, ``inline``) and, for a
button, the generation it was pressed under; users get a reply length preference (null:
the bot's ``DEFAULT_LENGTH``). Existing generations all came from the command.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:00:08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# only new tables, columns with defaults or nullable, indexes.
EXPANDS_ONLY = True

# The spelling of bot.storage.schema's CHECK, frozen here as this revision wrote it.
SOURCE_CHECK = "source IN ('command', 'button', 'inline')"


def upgrade() -> None:
    op.add_column("users", sa.Column("length", sa.Integer(), nullable=True))
    # The CHECK needs a table rebuild on SQLite (batch mode); PostgreSQL alters in place.
    with op.batch_alter_table("generations") as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(16), server_default="command", nullable=False)
        )
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_generations_source"), SOURCE_CHECK)


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_constraint(op.f("ck_generations_source"), type_="check")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("source")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("length")
