"""The outbox table and the statements the writer, the relay and the CLI run on it.

One row per message written through the outbox, in the writer's transaction::

    pending --(a relay claims it: claimed_by, claimed_until)--> confirmed --> deleted
                                                   (or status done, swept after the retention)
    pending --(publish fails: attempts + 1, next_attempt_at later)--> pending
    pending --(the last attempt failed)--> failed  (until `svckit outbox retry | purge`)

A relay claims, per key, the oldest pending rows, and none while an older one is claimed
by another relay or waits for its retry, and publishes them one after another, so the
messages of one key leave in the order they were written; rows without a key are
unordered. A failed row no longer holds its
key back: it moves aside, as a dead letter does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    update,
)

from svckit.db._tables import SVCKIT_METADATA
from svckit.messaging.transport import Outgoing

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Delete, Row, Select, Update

__all__ = ["DONE", "FAILED", "PENDING", "outbox_table"]

PENDING = "pending"
FAILED = "failed"
DONE = "done"

#: The longest error text kept on a failed row.
ERROR_LIMIT = 1000
#: The longest message key.
KEY_LIMIT = 255


def _held(of: str = "") -> str:
    """Which rows can hold their key back: claimed, or retried (the index over them is small).

    Literal SQL, not parameters: the planner uses the partial index only when the query
    states its predicate with the same constants.
    """
    return f"{of}status = 'pending' AND ({of}claimed_by IS NOT NULL OR {of}attempts > 0)"


# An integer primary key autoincrements on SQLite only when it is INTEGER.
_ID = BigInteger().with_variant(Integer(), "sqlite")

#: The messages written through the outbox and not yet published (or kept after).
outbox_table = Table(
    "svckit_outbox",
    SVCKIT_METADATA,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False),
    Column("exchange", String(255), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("mandatory", Boolean, nullable=False),
    Column("key", String(KEY_LIMIT), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(ERROR_LIMIT), nullable=True),
    # Pending rows in the order written: a claim walks it and stops after its batch.
    Index("ix_svckit_outbox_status_id", "status", "id"),
    # The few rows that can hold their key's later rows back: claimed, or retried.
    Index(
        "ix_svckit_outbox_held",
        "key",
        "id",
        postgresql_where=text(_held()),
        sqlite_where=text(_held()),
    ),
)

_t = outbox_table


def now() -> datetime:
    """The current time in UTC (every process of a service compares the same clock)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A time read back from the table, in UTC (SQLite returns it without a zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: The advisory lock a PostgreSQL relay holds while it claims: claims are short, and one
#: at a time, each sees the leases of the one before (so no two relays claim rows of one
#: key at once); publishing, the long part, runs in parallel.
CLAIM_LOCK = 0x5_0C_0B_0E


def row_for(
    outgoing: Outgoing, *, exchange: str, mandatory: bool, key: str | None
) -> dict[str, Any]:
    """The row that keeps ``outgoing`` until it is published (see `outgoing`)."""
    at = now()
    return {
        "message_id": outgoing.message_id,
        "exchange": exchange,
        "routing_key": outgoing.routing_key,
        "mandatory": mandatory,
        "key": key,
        "body": outgoing.body,
        "properties": {
            "timestamp": None if outgoing.timestamp is None else outgoing.timestamp.isoformat(),
            "type": outgoing.type,
            "correlation_id": outgoing.correlation_id,
            "content_type": outgoing.content_type,
            "headers": outgoing.headers,
        },
        "status": PENDING,
        "attempts": 0,
        "created_at": at,
        "next_attempt_at": at,
    }


def outgoing(row: Row[Any]) -> Outgoing:
    """The message a claimed row keeps, as it was when it was written."""
    properties = row.properties
    stamp = properties.get("timestamp")
    return Outgoing(
        body=row.body,
        routing_key=row.routing_key,
        message_id=row.message_id,
        timestamp=datetime.fromisoformat(stamp) if isinstance(stamp, str) else None,
        type=properties.get("type"),
        correlation_id=properties.get("correlation_id"),
        headers=dict(properties.get("headers") or {}),
        content_type=properties.get("content_type"),
    )


def claim(relay: str, *, batch: int, lease: float, at: datetime, postgresql: bool) -> Update:
    """Lease up to ``batch`` publishable rows to ``relay``, oldest first.

    A row of a key is publishable when every older pending row of that key is too (none
    is claimed by another relay or waits for a retry); so what a pass takes of one key
    is its oldest rows, in order, and the relay publishes them one after another. On
    PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED`` under
    `CLAIM_LOCK`; SQLite has one writer at a time anyway.
    """
    older = _t.alias("older")
    held_back = exists().where(
        older.c.key == _t.c.key,
        older.c.id < _t.c.id,
        text(_held("older.")),  # the partial index's own predicate
        or_(older.c.next_attempt_at > at, older.c.claimed_until >= at),
    )
    candidates: Select[Any] = (
        select(_t.c.id)
        .where(
            _t.c.status == PENDING,
            _t.c.next_attempt_at <= at,
            or_(_t.c.claimed_until.is_(None), _t.c.claimed_until < at),
            or_(_t.c.key.is_(None), ~held_back),
        )
        .order_by(_t.c.id)
        .limit(batch)
    )
    if postgresql:
        candidates = candidates.with_for_update(skip_locked=True, of=_t)
    return (
        update(_t)
        .where(_t.c.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=relay, claimed_until=at + timedelta(seconds=lease))
        .returning(
            _t.c.id,
            _t.c.message_id,
            _t.c.exchange,
            _t.c.routing_key,
            _t.c.mandatory,
            _t.c.key,
            _t.c.body,
            _t.c.properties,
            _t.c.attempts,
            _t.c.created_at,
        )
    )


def finished(relay: str, ids: Sequence[int], *, keep: bool, at: datetime) -> Update | Delete:
    """Delete the rows ``relay`` published (or mark them done, to keep them a while)."""
    mine = and_(_t.c.id.in_(ids), _t.c.claimed_by == relay)
    if keep:
        return (
            update(_t)
            .where(mine)
            .values(status=DONE, published_at=at, claimed_until=None, claimed_by=None)
        )
    return delete(_t).where(mine)


def retry_later(relay: str, row_id: int, *, attempts: int, at: datetime, error: str) -> Update:
    """Put a row back for another try at ``at``, with the error of the last one."""
    return (
        update(_t)
        .where(_t.c.id == row_id, _t.c.claimed_by == relay)
        .values(
            attempts=attempts,
            next_attempt_at=at,
            claimed_until=None,
            claimed_by=None,
            last_error=error[:ERROR_LIMIT],
        )
    )


def move_aside(relay: str, row_id: int, *, attempts: int, error: str) -> Update:
    """Mark a row failed with its error: it no longer holds its key's later rows back."""
    return (
        update(_t)
        .where(_t.c.id == row_id, _t.c.claimed_by == relay)
        .values(
            status=FAILED,
            attempts=attempts,
            claimed_until=None,
            claimed_by=None,
            last_error=error[:ERROR_LIMIT],
        )
    )


def release(relay: str, ids: Sequence[int]) -> Update:
    """Give claimed rows back untouched (the broker was away: no attempt is counted)."""
    return (
        update(_t)
        .where(_t.c.id.in_(ids), _t.c.claimed_by == relay)
        .values(claimed_until=None, claimed_by=None)
    )


def backlog() -> Select[int, Any]:
    """How many rows are pending, and when the oldest of them (the first written) was."""
    oldest = (
        select(_t.c.created_at)
        .where(_t.c.status == PENDING)
        .order_by(_t.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return select(func.count(), oldest).select_from(_t).where(_t.c.status == PENDING)


def sweepable(before: datetime, limit: int) -> Delete:
    """Delete up to ``limit`` done rows published before ``before``."""
    batch = (
        select(_t.c.id)
        .where(_t.c.status == DONE, _t.c.published_at < before)
        .limit(limit)
        .scalar_subquery()
    )
    return delete(_t).where(_t.c.id.in_(batch))
