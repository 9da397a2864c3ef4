"""order items: drop the index on sku

No query looks order items up by sku (they are read by order id, and exports scan them in id order),
and keeping an index of random keys current costs every imported order line a B-tree insert that
misses the cache once the table is large.

Revision ID: cust_imp01
Revises: cust_dups01
Create Date: 2026-11-27 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cust_imp01"
down_revision: str | None = "cust_dups01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_items_sku"))


def downgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_items_sku"), ["sku"], unique=False)
