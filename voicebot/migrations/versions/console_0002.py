"""console: failed sign-ins shared by every console process (voicebot.console.auth.SignInLimiter),
which voicebot.console.db also creates with ``ensure_tables``: only what is missing is created.

Revision ID: console_0002
Revises: console_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from voicebot.migrations.helpers import create_index, create_table

revision: str = "console_0002"
down_revision: str | Sequence[str] | None = "console_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_table("console_sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    create_index("ix_console_sign_in_failures_at", "console_sign_in_failures", ["at"])
    create_index("ix_console_sign_in_failures_key", "console_sign_in_failures", ["key"])


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead")
