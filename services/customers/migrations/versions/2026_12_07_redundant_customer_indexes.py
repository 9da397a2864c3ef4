"""customers: drop three indexes that others already serve

- `ix_customers_city` is the prefix of `ix_customers_city_total_spent`, which answers every city lookup.
- `ix_customers_name_key` (family, given name) is the prefix of `ix_customers_name_city_key` and
  `ix_customers_name_birth_date_key`, which duplicate detection uses.
- `ix_customers_total_spent` covers every row, while search only ever asks about live customers and
  has the partial, covering `ix_customers_live_total_spent` for that.

Each index costs every customer write a B-tree insert; at 1M customers these three were about 10 us of
PostgreSQL's CPU per upserted record (docs/benchmarks.md, "Customers: batch upsert").

Revision ID: cust0006indexes
Revises: cust0005retention
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cust0006indexes"
down_revision: str | None = "cust0005retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_customers_name_key", table_name="customers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_city"))
        batch_op.drop_index(batch_op.f("ix_customers_total_spent"))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_total_spent"), ["total_spent"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_city"), ["city"], unique=False)
    op.create_index(
        "ix_customers_name_key",
        "customers",
        [sa.text("coalesce(lower(family_name), '')"), sa.text("coalesce(lower(given_name), '')")],
        unique=False,
    )
