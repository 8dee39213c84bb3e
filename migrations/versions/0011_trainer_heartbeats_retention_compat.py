"""trainer heartbeats, pinned and pruned model versions, schema compatibility

* ``replicas.role`` and ``replicas.beat_s``: trainers write heartbeat rows too, so a dead
  trainer is noticed within a few of its beats on any host, not when its run's lease
  runs out; existing rows are bot replicas.
* ``model_versions.pinned`` and ``model_versions.pruned_at``: retention keeps the active
  version, the newest few and the pinned ones, and marks the rest pruned (their files and
  blobs deleted, their rows kept for the generations and runs that name them).
* ``schema_compat``: the revisions whose code can serve the schema as it is, so a
  replica one release behind keeps serving after an expand-only migration.

This migration only expands the schema: new columns with defaults or nullable, and a
new table; code of revision 0010 reads and writes the tables as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:11
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Read by bot/storage/compat.py: code of the previous revision can serve this schema.
EXPANDS_ONLY = True


def upgrade() -> None:
    op.add_column(
        "replicas", sa.Column("role", sa.String(16), server_default="bot", nullable=False)
    )
    op.add_column("replicas", sa.Column("beat_s", sa.Float(), nullable=True))
    op.add_column(
        "model_versions",
        sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "model_versions", sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "schema_compat",
        sa.Column("revision", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_schema_compat")),
    )


def downgrade() -> None:
    op.drop_table("schema_compat")
    with op.batch_alter_table("model_versions") as batch_op:
        batch_op.drop_column("pruned_at")
        batch_op.drop_column("pinned")
    with op.batch_alter_table("replicas") as batch_op:
        batch_op.drop_column("beat_s")
        batch_op.drop_column("role")
