"""The store as it was before Alembic (dialogue, feedback, learned names, erasures), plus the
phone line's call records, so that any phone process can answer ``GET /calls/{uuid}``.

Old SQLite files already hold most of these tables: only what is missing is created (and the
``size`` column that feedback chunks gained late).

Revision ID: store_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from voicebot.migrations.helpers import add_column, create_index, create_table

revision: str = "store_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTO = {"sqlite_autoincrement": True}  # SQLite never reuses a deleted ticket's number


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def upgrade() -> None:
    T, R, I, B = sa.Text, sa.Float, sa.Integer, sa.LargeBinary  # noqa: E741 - column types, read as a table
    create_table("store_meta", sa.Column("name", T, primary_key=True), sa.Column("value", T, nullable=False))
    create_table(
        "customers",
        sa.Column("customer_id", T, primary_key=True),
        sa.Column("name", T),
        sa.Column("phones", T, nullable=False, server_default="[]"),
        sa.Column("home_file", T),
        sa.Column("default_area", T),
        sa.Column("language", T, nullable=False, server_default="en"),
    )
    create_table(
        "customer_phones",
        sa.Column("phone", T, primary_key=True),
        sa.Column("customer_id", T, sa.ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
    )
    create_table(
        "conversations",
        sa.Column("id", T, primary_key=True),
        sa.Column("channel", T, nullable=False),
        sa.Column("customer_id", T),
        sa.Column("caller", T),
        sa.Column("language", T, nullable=False, server_default="en"),
        sa.Column("started_at", R, nullable=False),
        sa.Column("ended_at", R),
        sa.Column("outcome", T),
    )
    create_index("conversations_customer", "conversations", ["customer_id"])
    create_table(
        "turns",
        _id(),
        sa.Column("conversation_id", T, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("at", R, nullable=False),
        sa.Column("user_text", T, nullable=False),
        sa.Column("reply", T, nullable=False),
        sa.Column("intent", T),
        sa.Column("slots", T, nullable=False, server_default="{}"),
        sa.Column("actions", T, nullable=False, server_default="[]"),
        sa.Column("sentiment", R),
        sa.Column("language", T),
        sa.Column("handled_by", T),
        sa.Column("timings", T, nullable=False, server_default="{}"),
        **AUTO,
    )
    create_index("turns_conversation", "turns", ["conversation_id"])
    create_table(
        "tickets",
        _id(),
        sa.Column("conversation_id", T),
        sa.Column("customer_id", T),
        sa.Column("created_at", R, nullable=False),
        sa.Column("updated_at", R, nullable=False),
        sa.Column("status", T, nullable=False, server_default="open"),
        sa.Column("reason", T, nullable=False),
        sa.Column("problem", T, nullable=False),
        sa.Column("summary", T, nullable=False, server_default="{}"),
        sa.Column("note", T, nullable=False, server_default=""),
        **AUTO,
    )
    create_index("tickets_customer", "tickets", ["customer_id"])
    create_table(
        "trace",
        _id(),
        sa.Column("conversation_id", T),
        sa.Column("customer_id", T),
        sa.Column("at", R, nullable=False),
        sa.Column("kind", T, nullable=False),
        sa.Column("device_id", T),
        sa.Column("data", T, nullable=False, server_default="{}"),
        **AUTO,
    )
    create_index("trace_conversation", "trace", ["conversation_id"])
    create_index("trace_customer", "trace", ["customer_id"])
    create_table(
        "feedback",
        _id(),
        sa.Column("device_id", T, nullable=False),
        sa.Column("clip_id", T, nullable=False),
        sa.Column("audio_sha256", T, nullable=False),
        sa.Column("model", T, nullable=False),
        sa.Column("firmware", T, nullable=False),
        sa.Column("locale", T),
        sa.Column("recorded_at", R, nullable=False),
        sa.Column("received_at", R, nullable=False),
        sa.Column("stored_at", R, nullable=False),
        sa.Column("duration_s", R, nullable=False),
        sa.Column("audio_format", T, nullable=False),
        sa.Column("transcript", T, nullable=False),
        sa.Column("language", T, nullable=False),
        sa.Column("confidence", R, nullable=False),
        sa.Column("sentiment", R, nullable=False),
        sa.Column("label", T, nullable=False),
        sa.Column("emotions", T, nullable=False, server_default="[]"),
        sa.Column("topics", T, nullable=False, server_default="{}"),
        sa.Column("urgency", T, nullable=False),
        sa.Column("urgency_reasons", T, nullable=False, server_default="[]"),
        sa.Column("ticket_id", T),
        sa.Column("contacted", I, nullable=False, server_default="0"),
        sa.Column("worker", T),
        sa.Column("audio", B),
        sa.UniqueConstraint("device_id", "clip_id"),
        **AUTO,
    )
    create_index("feedback_content", "feedback", ["device_id", "audio_sha256"], unique=True)
    create_index("feedback_time", "feedback", ["recorded_at"])
    create_table(
        "feedback_uploads",
        sa.Column("device_id", T, primary_key=True),
        sa.Column("clip_id", T, primary_key=True),
        sa.Column("meta", T, nullable=False),
        sa.Column("started_at", R, nullable=False),
    )
    create_table(
        "feedback_chunks",
        sa.Column("device_id", T, primary_key=True),
        sa.Column("clip_id", T, primary_key=True),
        sa.Column("seq", I, primary_key=True),
        sa.Column("data", B, nullable=False),
        sa.Column("received_at", R, nullable=False),
        sa.Column("size", I),
    )
    add_column("feedback_chunks", sa.Column("size", I))  # files from before chunks were sealed
    create_table(
        "feedback_claims",
        sa.Column("device_id", T, primary_key=True),
        sa.Column("clip_id", T, primary_key=True),
        sa.Column("worker", T, nullable=False),
        sa.Column("expires_at", R, nullable=False),
    )
    create_table(
        "learned_names",
        sa.Column("home", T, primary_key=True),
        sa.Column("phrase", T, primary_key=True),
        sa.Column("device_id", T, nullable=False),
        sa.Column("language", T, nullable=False, server_default="en"),
        sa.Column("learned_at", R, nullable=False),
        sa.Column("source", T, nullable=False, server_default=""),
    )
    create_table("erasures", _id(), sa.Column("at", R, nullable=False), sa.Column("rows", I, nullable=False), **AUTO)
    create_table(
        "calls",
        sa.Column("call_id", T, primary_key=True),
        sa.Column("customer_id", T),
        sa.Column("state", T, nullable=False),
        sa.Column("outcome", T),
        sa.Column("started_at", R, nullable=False),
        sa.Column("updated_at", R, nullable=False),
        sa.Column("record", T, nullable=False),
    )
    create_index("calls_updated", "calls", ["updated_at"])


def downgrade() -> None:
    raise NotImplementedError("the store's first revision is not undone: restore a backup instead")
