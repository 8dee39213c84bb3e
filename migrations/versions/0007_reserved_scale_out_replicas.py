"""replica heartbeats and shared per-user counters (issue 12, part b)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:00:07
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # reserved; filled in by its issue


def downgrade() -> None:
    pass
