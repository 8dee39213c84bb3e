"""trainers, job queue and model files in the database (issue 12, part a)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:00:06
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved; filled in by its issue


def downgrade() -> None:
    pass
