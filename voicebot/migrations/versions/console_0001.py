"""Tables of the agents' console: agents, the audit of their actions, booked callbacks, resolutions (voicebot.console.db), which that module also creates with
``ensure_tables``: only those missing are created.

Revision ID: console_0001
Revises: store_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from voicebot.migrations.helpers import create_index, create_table

revision: str = "console_0001"
down_revision: str | Sequence[str] | None = "store_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_table("console_agents",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name")
    )
    create_table("console_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    create_index("ix_console_audit_at", "console_audit", ["at"])
    create_index("ix_console_audit_conversation_id", "console_audit", ["conversation_id"])
    create_index("ix_console_audit_customer_id", "console_audit", ["customer_id"])
    create_index("ix_console_audit_ticket_id", "console_audit", ["ticket_id"])
    create_table("console_callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("booked_by", sa.String(length=64), nullable=False),
        sa.Column("booked_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    create_index("ix_console_callbacks_customer_id", "console_callbacks", ["customer_id"])
    create_index("ix_console_callbacks_ticket_id", "console_callbacks", ["ticket_id"])
    create_table("console_resolutions",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id")
    )
    create_index("ix_console_resolutions_customer_id", "console_resolutions", ["customer_id"])


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead")
