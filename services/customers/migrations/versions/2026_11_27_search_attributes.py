"""search attributes: customers.attributes as jsonb on PostgreSQL, with a GIN index over live customers

Revision ID: cust0004attrs
Revises: cust0003search
Create Date: 2026-11-27 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "cust0004attrs"
down_revision: str | None = "cust0003search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "merged_into IS NULL AND erased_at IS NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps JSON text; there is no GIN
    op.alter_column(
        "customers",
        "attributes",
        type_=postgresql.JSONB(),
        existing_nullable=False,
        postgresql_using="attributes::jsonb",
    )
    op.create_index(
        "ix_customers_live_attributes",
        "customers",
        ["attributes"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"attributes": "jsonb_path_ops"},
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_customers_live_attributes", table_name="customers")
    op.alter_column(
        "customers", "attributes", type_=sa.JSON(), existing_nullable=False, postgresql_using="attributes::json"
    )
