"""``python -m voicebot.migrations``: the schema's history for developers and operators.

  heads                                   the latest revision of each branch
  upgrade --store ADDRESS                 bring a database up to date (what every store does at open)
  revision -m MESSAGE --after REV [--id ID]
                                          write a new revision holding what METADATA has and the
                                          database at the current heads lacks (autogenerate)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from voicebot.database import DatabaseError, own_engine
from voicebot.migrations import HERE, alembic_config, target_metadata, upgrade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voicebot.migrations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("heads")
    up = sub.add_parser("upgrade")
    up.add_argument("--store", required=True, help="a SQLite file or postgresql://…")
    rev = sub.add_parser("revision")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--after", required=True,
                     help="the revision this one follows: store_0001 for a new feature's first, else its latest")
    rev.add_argument("--id", help="the new revision's id, e.g. console_0002 (default: random)")
    args = parser.parse_args(argv)

    config = alembic_config()
    if args.what == "heads":
        for head in sorted(ScriptDirectory.from_config(config).get_heads()):
            print(head)
        return 0
    if args.what == "upgrade":
        try:
            upgrade(own_engine(args.store))
        except DatabaseError as exc:
            print(f"voicebot.migrations: {exc}", file=sys.stderr)
            return 2
        return 0
    target_metadata()
    with tempfile.TemporaryDirectory() as tmp:  # a scratch database at the current heads to compare with
        engine = own_engine(Path(tmp) / "scratch.sqlite3")
        upgrade(engine)
        with engine.connect() as db:
            config.attributes["connection"] = db
            script = command.revision(config, message=args.message, autogenerate=True, head=args.after,
                                      splice=True, rev_id=args.id, version_path=str(HERE / "versions"))
        engine.dispose()
    path = getattr(script, "path", None)
    print(f"wrote {path}: check it, and use voicebot.migrations.helpers.create_table/create_index so that "
          "tables a module already made with ensure_tables are left alone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
