"""corpora and training runs; model versions remember their corpus

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-29 00:00:01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whether code of the previous revision can serve this schema (bot/storage/compat.py):
# only new tables, columns with defaults or nullable, indexes.
EXPANDS_ONLY = True

TRAINING_STATUSES = ("running", "succeeded", "rejected", "failed", "cancelled")
CORPUS_SOURCES = ("default", "upload", "append")


def _in_values(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _create_one_active_index() -> None:
    op.create_index(
        "uq_model_versions_one_active",
        "model_versions",
        ["is_active"],
        unique=True,
        sqlite_where=sa.text("is_active"),
        postgresql_where=sa.text("is_active"),
    )


def upgrade() -> None:
    op.create_table(
        "corpora",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in_values("source", CORPUS_SOURCES), name=op.f("ck_corpora_source")),
        sa.PrimaryKeyConstraint("id", name="pk_corpora"),
    )
    op.create_index("ix_corpora_sha256", "corpora", ["sha256"])

    # On SQLite, adding a foreign key rebuilds model_versions (copy, drop, rename) from
    # the reflected table. Had the partial index lost its WHERE clause on the way, it
    # would become a plain unique index on is_active (one active *and* one inactive row
    # at most); dropping it first and recreating it afterwards keeps this revision from
    # depending on how the installed SQLAlchemy reflects partial indexes.
    op.drop_index("uq_model_versions_one_active", table_name="model_versions")
    with op.batch_alter_table("model_versions") as batch_op:
        batch_op.add_column(sa.Column("corpus_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_model_versions_corpus_id_corpora",
            "corpora",
            ["corpus_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_model_versions_corpus_id", "model_versions", ["corpus_id"])
    _create_one_active_index()

    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_by", sa.BigInteger(), nullable=True),
        sa.Column("corpus_id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("settings_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_train_loss", sa.Float(), nullable=True),
        sa.Column("final_val_loss", sa.Float(), nullable=True),
        sa.CheckConstraint(
            _in_values("status", TRAINING_STATUSES), name=op.f("ck_training_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["corpus_id"], ["corpora.id"], name="fk_training_runs_corpus_id_corpora"
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name="fk_training_runs_model_version_id_model_versions",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_training_runs"),
    )
    op.create_index("ix_training_runs_settings_key", "training_runs", ["settings_key"])
    # At most one run in the "running" state: one training at a time.
    op.create_index(
        "uq_training_runs_one_running",
        "training_runs",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("uq_training_runs_one_running", table_name="training_runs")
    op.drop_index("ix_training_runs_settings_key", table_name="training_runs")
    op.drop_table("training_runs")

    op.drop_index("uq_model_versions_one_active", table_name="model_versions")
    op.drop_index("ix_model_versions_corpus_id", table_name="model_versions")
    with op.batch_alter_table("model_versions") as batch_op:
        batch_op.drop_constraint("fk_model_versions_corpus_id_corpora", type_="foreignkey")
        batch_op.drop_column("corpus_id")
    _create_one_active_index()

    op.drop_index("ix_corpora_sha256", table_name="corpora")
    op.drop_table("corpora")
