"""Tables of proactive support: findings, contacts, contact preferences (voicebot.proactive.store), which that module also creates with
``ensure_tables``: only those missing are created.

Revision ID: proactive_0001
Revises: store_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from voicebot.migrations.helpers import create_index, create_table

revision: str = "proactive_0001"
down_revision: str | Sequence[str] | None = "store_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_table("proactive_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("device_id", sa.String(length=300), nullable=False),
        sa.Column("device_name", sa.String(length=300), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=True),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("check_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("playbook", sa.String(length=200), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.Float(), nullable=False),
        sa.Column("cleared_at", sa.Float(), nullable=True),
        sa.Column("ticket_id", sa.String(length=50), nullable=True),
        sa.Column("contacted_at", sa.Float(), nullable=True),
        sa.Column("offered_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id")
    )
    create_index("ix_proactive_findings_customer_id", "proactive_findings", ["customer_id"])
    create_index("ix_proactive_findings_device_id", "proactive_findings", ["device_id"])
    create_index("ix_proactive_findings_key", "proactive_findings", ["key"])
    create_table("proactive_preferences",
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("channels", sa.Text(), nullable=True),
        sa.Column("preferred", sa.String(length=20), nullable=True),
        sa.Column("quiet_start", sa.String(length=8), nullable=True),
        sa.Column("quiet_end", sa.String(length=8), nullable=True),
        sa.Column("opt_out", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id")
    )
    create_table("proactive_contacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["finding_id"], ["proactive_findings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id")
    )
    create_index("ix_proactive_contacts_customer_id", "proactive_contacts", ["customer_id"])
    create_index("ix_proactive_contacts_finding_id", "proactive_contacts", ["finding_id"])


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead")
