"""Training run state machine (queued/finishing, one live run), unique corpus sha256

A run's row becomes its only source of truth: new live states, the ``live`` column
whose unique index allows one live run at a time (replacing the partial index on
``status = 'running'``), where its outcome goes and whether it was sent, and the
checkpoint it writes. Corpora get a unique SHA-256 (duplicates merged first).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:00:04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# the status CHECK and the one-running index change under the old code.
EXPANDS_ONLY = False

OLD_STATUSES = ("running", "succeeded", "rejected", "failed", "cancelled")
NEW_STATUSES = ("queued", "running", "finishing", "succeeded", "rejected", "failed", "cancelled")
LIVE_CHECK = "(status IN ('queued', 'running', 'finishing')) = (live IS NOT NULL)"


def _in_values(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _merge_duplicate_corpora() -> None:
    """Point every reference at the oldest row of each SHA-256, then drop the others."""
    keep = "(SELECT MIN(c2.id) FROM corpora c2 WHERE c2.sha256 = corpora.sha256)"
    for table in ("training_runs", "model_versions"):
        op.execute(
            f"UPDATE {table} SET corpus_id = (SELECT MIN(c2.id) FROM corpora c2 WHERE "
            f"c2.sha256 = (SELECT c1.sha256 FROM corpora c1 WHERE c1.id = {table}.corpus_id)) "
            f"WHERE corpus_id IS NOT NULL"
        )
    op.execute(f"DELETE FROM corpora WHERE id <> {keep}")


def upgrade() -> None:
    _merge_duplicate_corpora()
    op.drop_index("ix_corpora_sha256", table_name="corpora")
    op.create_index("ix_corpora_sha256", "corpora", ["sha256"], unique=True)

    op.drop_index("uq_training_runs_one_running", table_name="training_runs")
    with op.batch_alter_table("training_runs") as batch_op:
        batch_op.add_column(sa.Column("live", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("status_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_sha256", sa.String(64), nullable=True))
        batch_op.add_column(
            sa.Column("outcome_sent_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_training_runs_status"), type_="check")
    # Rows of earlier versions: a "running" one is live; every finished one counts as
    # announced (earlier versions told the admin themselves).
    op.execute(sa.text("UPDATE training_runs SET live = TRUE WHERE status = 'running'"))
    op.execute(
        sa.text(
            "UPDATE training_runs SET outcome_sent_at = COALESCE(finished_at, started_at) "
            "WHERE status <> 'running'"
        )
    )
    with op.batch_alter_table("training_runs") as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_training_runs_status"), _in_values("status", NEW_STATUSES)
        )
        batch_op.create_check_constraint(op.f("ck_training_runs_live"), LIVE_CHECK)
    op.create_index("uq_training_runs_live", "training_runs", ["live"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_training_runs_live", table_name="training_runs")
    # Live states earlier versions do not know end as failed runs.
    op.execute(
        sa.text(
            "UPDATE training_runs SET status = 'failed', live = NULL, "
            "error = 'downgraded while live' WHERE status IN ('queued', 'finishing')"
        )
    )
    with op.batch_alter_table("training_runs") as batch_op:
        batch_op.drop_constraint(op.f("ck_training_runs_live"), type_="check")
        batch_op.drop_constraint(op.f("ck_training_runs_status"), type_="check")
    with op.batch_alter_table("training_runs") as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_training_runs_status"), _in_values("status", OLD_STATUSES)
        )
        for column in (
            "outcome_sent_at", "checkpoint_sha256", "checkpoint_path", "status_message_id",
            "chat_id", "live",
        ):  # fmt: skip
            batch_op.drop_column(column)
    op.create_index(
        "uq_training_runs_one_running",
        "training_runs",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.drop_index("ix_corpora_sha256", table_name="corpora")
    op.create_index("ix_corpora_sha256", "corpora", ["sha256"])
