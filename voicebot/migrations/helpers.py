"""What revisions use to stay safe on databases made before them: a table or an index is only
created when missing (a store file written by voicebot before Alembic, or a table another
module already made with ``ensure_tables``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def create_table(name: str, *items: Any, **kw: Any) -> bool:
    """Creates the table unless it exists; returns whether it did."""
    if name in tables():
        return False
    op.create_table(name, *items, **kw)
    return True


def create_index(name: str, table: str, cols: list[str], unique: bool = False) -> None:
    if name not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, cols, unique=unique)


def add_column(table: str, column: sa.Column[Any]) -> None:
    if column.name not in columns(table):
        with op.batch_alter_table(table) as batch:
            batch.add_column(column)
