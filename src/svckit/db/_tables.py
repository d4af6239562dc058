"""svckit's own tables, part of every service's schema (created and migrated with it)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table

#: The tables svckit itself keeps in a service's database (the database inbox; the
#: outbox). `Database.create_tables` and `svckit.db.migrations.run_migrations` include
#: them beside the service's own metadata.
SVCKIT_METADATA = MetaData()

#: One row per message a consumer with the database inbox has processed; it commits in
#: the same transaction as the handler's own work.
inbox_table = Table(
    "svckit_inbox",
    SVCKIT_METADATA,
    Column("consumer", String(255), primary_key=True),
    Column("message_id", String(255), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    Index("ix_svckit_inbox_consumer_processed_at", "consumer", "processed_at"),
)
