"""The database: SQLAlchemy 2 async on SQLite (the default) or PostgreSQL.

A service that sets ``uses_database = True`` holds a `Database` as ``self.db``, opened and
closed with its other resources and checked by readiness::

    class Users(WorkerService):
        uses_database = True
        metadata = Base.metadata          # its tables, for create-on-start and migrations

        @consumer("user.created", idempotent=True, inbox="database")
        async def remember(self, event: UserCreated, *, session: AsyncSession) -> None:
            session.add(UserRow(id=event.user_id))

A handler's keyword-only ``session`` gets a session in a transaction around the call:
committed when the handler returns, rolled back when it raises. With
``inbox="database"`` the "processed" mark commits in that same transaction.
`Outbox` publishes messages if and only if a transaction commits (``uses_outbox = True``;
see `svckit.db.outbox`). Migrations are alembic's, run by ``svckit db upgrade module:Class`` (see
`svckit.db.migrations`). Needs the ``db`` extra: ``pip install "svckit[db]"``.
"""

from __future__ import annotations

from svckit.core._extras import require

require("sqlalchemy", "db")
require("sqlalchemy.ext.asyncio", "db")

from svckit.core.errors import (  # noqa: E402 - after the check for the extra
    DatabaseError,
    IntegrityError,
    TransientDatabaseError,
)
from svckit.db._tables import SVCKIT_METADATA  # noqa: E402
from svckit.db.database import Database  # noqa: E402
from svckit.db.outbox import Outbox  # noqa: E402

__all__ = [
    "SVCKIT_METADATA",
    "Database",
    "DatabaseError",
    "IntegrityError",
    "Outbox",
    "TransientDatabaseError",
]
