"""Tables of customers across channels: identities, the customer's thread, web chat revocations (voicebot.customers.tables), which that module also creates with
``ensure_tables``: only those missing are created.

Revision ID: customers_0001
Revises: store_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from voicebot.migrations.helpers import create_index, create_table

revision: str = "customers_0001"
down_revision: str | Sequence[str] | None = "store_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_table("customer_identities",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value")
    )
    create_index("customer_identities_customer", "customer_identities", ["customer_id"])
    create_table("customer_threads",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id")
    )
    create_table("webchat_revocations",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id")
    )


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead")
