"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voicebot.migrations.helpers import add_column, create_index, create_table
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    # Prefer create_table / create_index / add_column (voicebot.migrations.helpers) to op.*: they
    # leave alone what a module already made with ensure_tables.
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead")
