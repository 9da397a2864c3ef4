"""duplicate candidates: stored pairs, junk keys, refresh state and scope

Revision ID: cust_dups01
Revises: cust0002
Create Date: 2026-11-27 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cust_dups01"
down_revision: str | None = "cust0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _name_key(column: str) -> sa.TextClause:
    return sa.text(f"coalesce(lower({column}), '')")


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, last in (("ix_customers_name_city_key", "city"), ("ix_customers_name_birth_date_key", "birth_date")):
            batch_op.create_index(
                name, [_name_key("family_name"), _name_key("given_name"), sa.text(last)], unique=False
            )
    op.create_table(
        "duplicate_candidates",
        sa.Column("customer_a", sa.Uuid(), nullable=False),
        sa.Column("customer_b", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_a", "customer_b", name=op.f("pk_duplicate_candidates")),
    )
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duplicate_candidates_customer_b"), ["customer_b"], unique=False)
        batch_op.create_index(
            "ix_duplicate_candidates_rank", [sa.text("points DESC"), "customer_a", "customer_b"], unique=False
        )
    op.create_table(
        "duplicate_junk_keys",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("family_key", sa.String(length=200), nullable=True),
        sa.Column("given_key", sa.String(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_junk_keys")),
    )
    with op.batch_alter_table("duplicate_junk_keys", schema=None) as batch_op:
        batch_op.create_index("ix_duplicate_junk_keys_key_customers", ["key", "customers"], unique=False)
    op.create_table(
        "duplicate_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_seq", BIG_ID, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_all_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_since_all", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_refreshes")),
    )
    op.create_table(
        "duplicate_scope",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_duplicate_scope")),
    )


def downgrade() -> None:
    op.drop_table("duplicate_scope")
    op.drop_table("duplicate_refreshes")
    with op.batch_alter_table("duplicate_junk_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_duplicate_junk_keys_key_customers")
    op.drop_table("duplicate_junk_keys")
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_duplicate_candidates_rank")
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_customer_b"))
    op.drop_table("duplicate_candidates")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_name_birth_date_key")
        batch_op.drop_index("ix_customers_name_city_key")
