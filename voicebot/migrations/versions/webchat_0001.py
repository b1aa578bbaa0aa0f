"""webchat: links that have opened a chat once (single-use links, voicebot.webchat.links), which
that module also creates with ``ensure_tables``: only what is missing is created.

Revision ID: webchat_0001
Revises: store_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from voicebot.migrations.helpers import create_index, create_table

revision: str = "webchat_0001"
down_revision: str | Sequence[str] | None = "store_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_table("webchat_used_links",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("link_id")
    )
    create_index("ix_webchat_used_links_customer_id", "webchat_used_links", ["customer_id"])
    create_index("ix_webchat_used_links_expires_at", "webchat_used_links", ["expires_at"])


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead")
