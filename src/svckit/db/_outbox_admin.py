"""What ``svckit outbox`` does to a service's outbox table: list, retry, purge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from svckit.db import _outbox_table as table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit.db.database import Database

_t = table.outbox_table


async def list_rows(database: Database, *, status: str | None, limit: int) -> list[dict[str, Any]]:
    """The rows of ``status`` (every status for ``None``), oldest first, without bodies."""
    statement = (
        select(
            _t.c.id,
            _t.c.status,
            _t.c.routing_key,
            _t.c.key,
            _t.c.message_id,
            _t.c.attempts,
            _t.c.created_at,
            _t.c.last_error,
        )
        .order_by(_t.c.id)
        .limit(limit)
    )
    if status is not None:
        statement = statement.where(_t.c.status == status)
    async with database.transaction() as session:
        result = await session.execute(statement)
    return [
        {**row._asdict(), "created_at": table.as_utc(row.created_at).isoformat()}
        for row in result.all()
    ]


async def retry_failed(database: Database, ids: Sequence[int] | None) -> int:
    """Put failed rows (those of ``ids``, or all) back to pending with a fresh count."""
    statement = (
        update(_t)
        .where(_t.c.status == table.FAILED)
        .values(status=table.PENDING, attempts=0, next_attempt_at=table.now())
    )
    if ids is not None:
        statement = statement.where(_t.c.id.in_(ids))
    async with database.transaction() as session:
        result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_failed(database: Database, ids: Sequence[int] | None) -> int:
    """Delete failed rows (those of ``ids``, or all); their messages are never sent."""
    statement = delete(_t).where(_t.c.status == table.FAILED)
    if ids is not None:
        statement = statement.where(_t.c.id.in_(ids))
    async with database.transaction() as session:
        result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
