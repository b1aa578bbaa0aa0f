"""Alembic's entry point: runs the revisions on the connection ``voicebot.migrations.upgrade``
hands over, or, from the command line, on ``-x store=ADDRESS`` (a path or postgresql://…)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from voicebot.migrations import target_metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from voicebot.database import open_engine

    store = context.get_x_argument(as_dictionary=True).get("store")
    if not store:
        raise SystemExit("give the database: alembic ... -x store=PATH_OR_URL")
    with open_engine(store).connect() as db:
        run(db)
        db.commit()
