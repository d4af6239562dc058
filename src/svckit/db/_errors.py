"""Translation of SQLAlchemy's and the drivers' errors into svckit's tree."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from svckit.core._redact import redact_text
from svckit.core.errors import DatabaseError, IntegrityError, TransientDatabaseError

# SQLSTATE classes and codes worth another try: connection exceptions, too many
# connections, lock not available, serialization failure, deadlock, shutdown.
_TRANSIENT_CLASSES = ("08",)
_TRANSIENT_CODES = frozenset({"40001", "40P01", "53300", "55P03", "57P01", "57P02", "57P03"})
# Names of what the statement touched, as asyncpg reports them: never values.
_NAMED = ("constraint_name", "table_name", "column_name")
_MESSAGE_LIMIT = 200
_DETAIL = "\nDETAIL:"


def translate(exc: sa_exc.SQLAlchemyError) -> DatabaseError:
    """The svckit error for ``exc``; raise it ``from exc``.

    The row values PostgreSQL puts in its errors' DETAIL lines ("Key (email)=(...)
    already exists") are taken out of ``exc`` and the errors under it first, so that a
    logged traceback or a dead letter's shows none (statements' parameters are hidden by
    the engine's ``hide_parameters``).
    """
    forget_values(exc)
    kind: type[DatabaseError]
    if isinstance(exc, sa_exc.IntegrityError):
        kind = IntegrityError
    elif _transient(exc):
        kind = TransientDatabaseError
    else:
        kind = DatabaseError
    return kind(describe(exc))


def describe(exc: BaseException) -> str:
    """What went wrong, without the statement's parameters or a password."""
    orig = getattr(exc, "orig", None) or exc
    driver = orig.__cause__ or orig  # asyncpg's own exception, under SQLAlchemy's adapter
    parts = [type(driver).__name__]
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        parts.append(f"SQLSTATE {sqlstate}")
    names = [
        f"{name.removesuffix('_name')} {value}"
        for name in _NAMED
        if (value := getattr(driver, name, None))
    ]
    parts.extend(names)
    if type(driver).__module__.startswith("sqlite3") or isinstance(exc, sa_exc.TimeoutError):
        # SQLite's messages name tables and columns, never values ("UNIQUE constraint
        # failed: users.email"); the pool's says how long it waited.
        text = (str(driver).splitlines() or [""])[0]
        parts.append(redact_text(text)[:_MESSAGE_LIMIT])
    return ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]


def _transient(exc: sa_exc.SQLAlchemyError) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection was free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in _TRANSIENT_CODES or sqlstate.startswith(_TRANSIENT_CLASSES)
    sqlite_error = getattr(orig, "sqlite_errorname", None)
    if isinstance(sqlite_error, str):
        # "database is locked" (another writer held it past the busy timeout).
        return sqlite_error.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    # No code at all: the connection itself failed (refused, reset, closed).
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


def forget_values(exc: BaseException) -> None:
    """Remove PostgreSQL's DETAIL lines, which show row values, from ``exc``'s chain."""
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(getattr(current, "detail", None), str):
            current.detail = None  # type: ignore[attr-defined] # asyncpg's own field
        if current.args and isinstance(current.args[0], str) and _DETAIL in current.args[0]:
            first = "\n".join(
                line for line in current.args[0].splitlines() if not line.startswith("DETAIL:")
            )
            current.args = (first, *current.args[1:])
        pending.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])
