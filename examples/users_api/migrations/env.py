"""Alembic's entry point for this service's migrations; `svckit db` runs it."""

from svckit.db.migrations import run_migrations

run_migrations()
