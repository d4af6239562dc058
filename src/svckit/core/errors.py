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
    ├── HandlerCancelledError     a handler raised CancelledError that no shutdown sent
    ├── CacheError                the cache backend failed
    ├── StorageError              the content store failed (in `svckit.storage`)
    │   ├── ContentTooLargeError  content over the store's size limit, refused unwritten
    │   └── InvalidKeyError       a content key that is not safe (also a ValueError)
    └── HttpError                 a service-to-service call failed (in `svckit.http`)

Errors of the libraries svckit adapts (aio-pika, redis-py) are translated at the boundary,
with the original kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "ConfigurationError",
    "ContentTooLargeError",
    "DecodeError",
    "HandlerCancelledError",
    "InvalidKeyError",
    "LifecycleError",
    "MessagingError",
    "MissingExtraError",
    "PublishError",
    "StorageError",
    "SvckitError",
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


class HandlerCancelledError(SvckitError):
    """A message handler raised `asyncio.CancelledError` although nothing cancelled it.

    A task of its own that was cancelled, say. It is a failure of the handler, retried
    or dead-lettered like any other, not a shutdown: the original is the ``__cause__``.
    """


class CacheError(SvckitError):
    """The cache backend failed."""


class StorageError(SvckitError):
    """The content store failed (its backend is down, full or unreadable)."""


class ContentTooLargeError(StorageError):
    """Content is larger than the store's ``max_size``; nothing was written.

    Attributes:
        size: The content's size in bytes.
        max_size: The store's limit in bytes.
    """

    def __init__(self, size: int, max_size: int) -> None:
        """Build the error for ``size`` bytes against a limit of ``max_size``."""
        super().__init__(f"content of {size} bytes is over the store's limit of {max_size} bytes")
        self.size = size
        self.max_size = max_size


class InvalidKeyError(StorageError, ValueError):
    """A content key is empty, too long, or has characters or segments that are not safe."""
