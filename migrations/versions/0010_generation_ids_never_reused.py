"""generation ids are never reused

On SQLite a plain ``INTEGER PRIMARY KEY`` takes ``max(id) + 1``: after /forget deleted a
user's newest texts, the next text got a deleted text's id, and a button still showing
under the forgotten text ("continue") acted on the new one. ``AUTOINCREMENT`` keeps the
highest id ever given in ``sqlite_sequence`` and never hands it out again. SQLite cannot
alter a table's key in place, so the table is rebuilt (batch mode: a copy with the same
columns, indexes and rows, then a rename). Nothing is dropped: every row, column and index
is kept, and no other table refers to ``generations``. The counter starts from the highest
id present at the upgrade. PostgreSQL's sequence never reuses an id: nothing to do there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:10
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# the same table rebuilt, nothing the old code sees changes.
EXPANDS_ONLY = True


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "generations", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "generations", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
