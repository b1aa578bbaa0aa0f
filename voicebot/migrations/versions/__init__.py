"""Alembic revisions of the store's schema (one file each; see docs/scale.md)."""
