"""`Database`: the resource that holds a service's SQLAlchemy engine and hands out sessions.

::

    db = Database("postgresql+asyncpg://app:secret@db/app", service="users")
    async with db:                              # usually the service does this
        async with db.transaction() as session: # commit on success, rollback on error
            session.add(User(email="a@example.com"))

Without a URL it is the service's own SQLite file, ``./.svckit/<service>.sqlite3``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from sqlalchemy import MetaData, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from svckit.core.errors import DatabaseError, LifecycleError, TransientDatabaseError
from svckit.core.health import Health
from svckit.core.logging import get_logger
from svckit.db._errors import describe, translate
from svckit.db._url import is_memory, masked, resolve_url, settings_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from types import TracebackType

    from pydantic import SecretStr
    from sqlalchemy.engine import URL

    from svckit.core.settings import ServiceSettings

__all__ = ["Database"]

_log = get_logger("svckit.db")

#: How long a writer waits for SQLite's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 30.0


@dataclass(slots=True)
class _Unit:
    """The transaction open in one task: nested `Database.transaction` blocks join it."""

    database: Database
    task: asyncio.Task[object] | None
    session: AsyncSession
    failed: bool = False


_CURRENT: contextvars.ContextVar[_Unit | None] = contextvars.ContextVar(
    "svckit_db_unit", default=None
)


class Database:
    """A SQLAlchemy 2 async engine as a resource: sessions, transactions, a health check.

    Attributes:
        name: ``"database"``, its name among the service's resources.
        url: The URL with its password masked (``postgresql+asyncpg://app:***@db/app``).
        backend: ``"sqlite"`` or ``"postgresql"``.
        metadata: The table definitions `create_tables` creates (svckit's own, the inbox
            for one, are always among them).
    """

    name = "database"

    def __init__(
        self,
        url: str | SecretStr | URL | None = None,
        *,
        service: str = "svckit",
        metadata: MetaData | Sequence[MetaData] = (),
        create_schema: bool = False,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
        echo: bool = False,
        health_timeout: float = 1.0,
    ) -> None:
        """Create the resource; nothing connects until it is entered.

        Args:
            url: ``postgresql+asyncpg://user:password@host:port/database`` or
                ``sqlite+aiosqlite:///path``; ``None`` is ``./.svckit/<service>.sqlite3``.
            service: The service name: it names the SQLite file and the connections.
            metadata: The service's tables, for `create_tables` and migrations.
            create_schema: Create missing tables when the resource opens.
            pool_size: Connections kept open.
            max_overflow: Connections opened beyond the pool under load.
            pool_timeout: Seconds to wait for a free connection.
            echo: Log every statement (never its parameters).
            health_timeout: Seconds the health check's ``SELECT 1`` may take.

        Raises:
            ConfigurationError: the URL cannot be parsed or names another database.
        """
        from svckit.db._tables import SVCKIT_METADATA  # noqa: PLC0415 - imports this module

        self._url = resolve_url(url, service=service)
        self.url = masked(self._url)
        self.backend: Literal["sqlite", "postgresql"] = (
            "sqlite" if self._url.get_backend_name() == "sqlite" else "postgresql"
        )
        given = [metadata] if isinstance(metadata, MetaData) else list(metadata)
        self.metadata: list[MetaData] = [*given, SVCKIT_METADATA]
        self.service = service
        self._create_schema = create_schema
        self._pool = {"pool_size": pool_size, "max_overflow": max_overflow}
        self._pool_timeout = pool_timeout
        self._echo = echo
        self._health_timeout = health_timeout
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, *, metadata: MetaData | Sequence[MetaData] = ()
    ) -> Database:
        """The database a service's settings describe (``database_url`` and the pool).

        Raises:
            ConfigurationError: production without ``database_url`` (SQLite is refused
                there), or a bad URL.
        """
        return cls(
            settings_url(settings),
            service=settings.service_name,
            metadata=metadata,
            create_schema=settings.database_create_schema,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout,
            echo=settings.database_echo,
        )

    # ------------------------------------------------------------------ resource

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine, for what sessions do not cover (only while open)."""
        if self._engine is None:
            raise LifecycleError("the database is not open; enter it (or start the service)")
        return self._engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The session factory (``expire_on_commit=False``), for advanced use."""
        if self._sessionmaker is None:
            raise LifecycleError("the database is not open; enter it (or start the service)")
        return self._sessionmaker

    async def __aenter__(self) -> Self:
        """Create the engine, check that the database answers, create tables if asked."""
        engine = self._make_engine()
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            if self._create_schema:
                await self._create_all(engine)
        except sa_exc.SQLAlchemyError as exc:
            await engine.dispose()
            error = translate(exc)
            raise type(error)(f"cannot open the database {self.url}: {error}") from exc
        except (OSError, TimeoutError) as exc:
            # asyncpg's own connect errors (refused, unreachable) come out unwrapped.
            await engine.dispose()
            raise TransientDatabaseError(
                f"cannot open the database {self.url}: {type(exc).__name__}"
            ) from exc
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        _log.debug("database open", url=self.url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close every connection."""
        engine, self._engine, self._sessionmaker = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    async def health(self) -> Health:
        """Up when ``SELECT 1`` comes back within the health timeout."""
        if self._engine is None:
            return Health.down("not open")
        try:
            async with asyncio.timeout(self._health_timeout):
                async with self._engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return Health.down(f"no answer to SELECT 1 within {self._health_timeout}s")
        except Exception as exc:  # noqa: BLE001 - any failure means the database is down
            return Health.down(f"SELECT 1 failed: {describe(exc)}")
        return Health.up(self.backend)

    # ------------------------------------------------------------------ sessions

    def session(self) -> AsyncSession:
        """A new session that the caller manages: ``async with db.session() as s: ...``.

        Nothing commits unless the caller says so; prefer `transaction`. Errors raised
        through it are SQLAlchemy's own.
        """
        return self.sessionmaker()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: a session in a transaction, committed when the block ends.

        An exception in the block rolls it back and propagates; SQLAlchemy's errors come
        out as `DatabaseError` (`IntegrityError`, `TransientDatabaseError`), with the
        original as ``__cause__``. A block inside another one of the same database, in
        the same task, joins it: the outermost block commits, and a failure of an inner
        block rolls the whole transaction back (a consumer's ``session`` and its
        database inbox share one transaction this way).

        Example:
            ```python
            async with db.transaction() as session:
                session.add(User(email="a@example.com"))
            ```
        """
        current = _CURRENT.get()
        task = asyncio.current_task()
        if current is not None and current.database is self and current.task is task:
            try:
                yield current.session
            except BaseException:
                current.failed = True
                raise
            return
        session = self.sessionmaker()
        unit = _Unit(self, task, session)
        token = _CURRENT.set(unit)
        try:
            try:
                yield session
                await _commit(unit)
            except BaseException:
                await asyncio.shield(_rollback(session))
                raise
            finally:
                _CURRENT.reset(token)
                await asyncio.shield(session.close())
        except sa_exc.SQLAlchemyError as exc:
            raise translate(exc) from exc

    async def create_tables(self) -> None:
        """Create every table of `metadata` that does not exist yet (development, tests).

        Production schemas come from migrations (``svckit db upgrade``).
        """
        try:
            await self._create_all(self.engine)
        except sa_exc.SQLAlchemyError as exc:
            raise translate(exc) from exc

    # ------------------------------------------------------------------ internals

    async def _create_all(self, engine: AsyncEngine) -> None:
        async with engine.begin() as connection:
            for metadata in self.metadata:
                await connection.run_sync(metadata.create_all)

    def _make_engine(self) -> AsyncEngine:
        options: dict[str, object] = {"echo": self._echo, "hide_parameters": True}
        if self.backend == "sqlite":
            if self._url.database and not is_memory(self._url):
                Path(self._url.database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
        else:
            options["pool_pre_ping"] = True
            options["connect_args"] = {"server_settings": {"application_name": self.service}}
        if not is_memory(self._url):
            options.update(self._pool, pool_timeout=self._pool_timeout)
        engine = create_async_engine(self._url, **options)
        if self.backend == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # Write-ahead logging lets readers run beside the writer; foreign keys are off in
    # SQLite unless asked for; a writer waits for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    finally:
        cursor.close()


async def _commit(unit: _Unit) -> None:
    if unit.failed:
        # An inner block failed and its caller went on: committing would keep half a unit.
        raise DatabaseError("an inner transaction block failed; the transaction rolled back")
    await unit.session.commit()


async def _rollback(session: AsyncSession) -> None:
    try:
        await session.rollback()
    except Exception:  # noqa: BLE001 - the original error says more; the connection is closed
        _log.warning("rollback failed", exc_info=True)
