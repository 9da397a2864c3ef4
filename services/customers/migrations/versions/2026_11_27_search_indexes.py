"""search indexes: partial covering indexes over live customers, tags by (tag, customer_id)

Revision ID: cust0003search
Revises: cust_imp01
Create Date: 2026-11-27 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cust0003search"
down_revision: str | None = "cust_imp01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models.py (SEARCH_INDEXES), frozen here: a revision never follows later model edits.
LIVE = "merged_into IS NULL AND erased_at IS NULL"
COVERED = (
    "id", "gender", "birth_date", "income_band", "education", "country", "city", "email",
    "total_spent", "order_count", "last_order_at", "consent_email",
)  # fmt: skip
INDEXES = {
    "ix_customers_live_city": ("city", "gender", "birth_date"),
    "ix_customers_live_country": ("country", "birth_date"),
    "ix_customers_live_demographics": ("gender", "education", "income_band"),
    "ix_customers_live_total_spent": ("total_spent",),
}


def upgrade() -> None:
    for name, keys in INDEXES.items():
        op.create_index(
            name,
            "customers",
            list(keys),
            unique=False,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
            postgresql_include=[column for column in COVERED if column not in keys],
        )
    op.create_index("ix_customer_tags_tag_customer_id", "customer_tags", ["tag", "customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customer_tags_tag_customer_id", table_name="customer_tags")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="customers")
