"""Baseline of the gateway service: an empty schema that later revisions build on.

Revision ID: gate0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

revision: str = "gate0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
