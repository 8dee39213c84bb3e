"""trainers, job queue and model files in the database

- ``blobs``: checkpoints and corpora, content-addressed by SHA-256, so no process needs
  another's disk;
- ``training_runs``: the run's owner and lease (only a run whose owner stopped renewing
  is failed by someone else), its progress for other processes, and the lease of the
  one bot replica that edits the admin's status message;
- on PostgreSQL only: pgqueuer's tables, in their own schema ``pgqueuer`` (the job
  queue trainers take training jobs from). SQLite keeps no queue: it trains in the
  bot's host. The DDL is pgqueuer's own for the installed version (``pgq upgrade``
  migrates it for later pgqueuer releases).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:00:06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# only new tables, columns with defaults or nullable, indexes.
EXPANDS_ONLY = True


def _pgqueuer_sql(install: bool) -> str:
    from bot.training.queue import install_sql, uninstall_sql

    return install_sql() if install else uninstall_sql()


def _run_script(sql: str) -> None:
    # Several statements in one go: asyncpg's simple-query protocol (no prepare) runs them.
    raw = op.get_bind().connection.dbapi_connection
    raw.run_async(lambda conn: conn.execute(sql))  # type: ignore[union-attr]


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blobs"),
    )
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("editor", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("editor_lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
    if op.get_bind().dialect.name == "postgresql":
        _run_script(_pgqueuer_sql(install=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run_script(_pgqueuer_sql(install=False) + "\nDROP SCHEMA IF EXISTS pgqueuer;")
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("editor_lease_expires_at")
        batch.drop_column("editor")
        batch.drop_column("progress")
        batch.drop_column("lease_expires_at")
        batch.drop_column("owner")
    op.drop_table("blobs")
