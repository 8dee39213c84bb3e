"""generation source and per-user length (issue 14)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:00:08
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved; filled in by its issue


def downgrade() -> None:
    pass
