"""Errors raised by svckit.

Every error svckit raises on purpose derives from one root, so ``except SvckitError``
catches them all and nothing else::

    SvckitError
    ├── ConfigurationError        settings that are invalid or unsafe for the environment
    ├── MissingExtraError         an optional dependency is not installed (also an ImportError)
    ├── LifecycleError            a service used out of order, or a resource that failed to open
    ├── MessagingError            the message bus
    │   ├── PublishError          the broker did not take a message
    │   │   └── UnroutableError   a command that no queue receives
    │   └── DecodeError           a message body or its headers cannot be read
    ├── CacheError                the cache backend failed
    ├── DatabaseError             the database failed or refused a statement (in `svckit.db`)
    │   ├── IntegrityError        a constraint was violated: a duplicate key, a missing row
    │   └── TransientDatabaseError  worth another try: connection lost, pool or lock timeout
    └── HttpError                 a service-to-service call failed (in `svckit.http`)

Errors of the libraries svckit adapts (aio-pika, redis-py, SQLAlchemy) are translated at
the boundary, with the original kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "ConfigurationError",
    "DatabaseError",
    "DecodeError",
    "IntegrityError",
    "LifecycleError",
    "MessagingError",
    "MissingExtraError",
    "PublishError",
    "SvckitError",
    "TransientDatabaseError",
    "UnroutableError",
]


class SvckitError(Exception):
    """The root of every error svckit raises on purpose."""


class ConfigurationError(SvckitError):
    """Settings are invalid, or unsafe for the environment the service runs in.

    The message names each environment variable to set.
    """


class MissingExtraError(SvckitError, ImportError):
    """An optional dependency of svckit is not installed.

    The message carries the command that installs it, for example
    ``pip install "svckit[worker]"``.
    """

    def __init__(self, module: str, extra: str) -> None:
        """Build the error for a missing ``module`` that ``extra`` installs."""
        super().__init__(
            f"{module!r} is not installed; svckit needs it for this feature. "
            f'Install it with: pip install "svckit[{extra}]"',
            name=module,
        )
        self.module = module
        self.extra = extra


class LifecycleError(SvckitError):
    """A service or resource was used out of order, or failed to start."""


class MessagingError(SvckitError):
    """The message bus failed."""


class PublishError(MessagingError):
    """The broker did not confirm a published message."""


class UnroutableError(PublishError):
    """A command was published, but no queue is bound to receive it."""


class DecodeError(MessagingError):
    """A message body or its headers could not be decoded or validated."""


class CacheError(SvckitError):
    """The cache backend failed."""


class DatabaseError(SvckitError):
    """The database failed or refused a statement.

    The message names the kind of failure and, where the database says, the constraint,
    table or column; never the statement's parameters or the URL's password.
    """


class IntegrityError(DatabaseError):
    """A constraint was violated: a duplicate key, a missing referenced row, a NULL."""


class TransientDatabaseError(DatabaseError):
    """A failure that another try may not meet.

    The connection was lost or refused, no pooled connection was free in time, a lock
    wait timed out, a deadlock or a serialization failure.
    """
