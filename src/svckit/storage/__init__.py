"""The content store: bytes by key, so that messages carry a key and never the bytes.

`ContentStore` is the resource a service holds (``service.storage`` on every chassis
service, or a handler's ``storage`` keyword); `ContentStore.from_url` picks the backend:
``memory://`` (`MemoryStorage`, shared by every service in the process),
``redis://`` / ``rediss://`` (`RedisStorage`, which needs ``pip install "svckit[redis]"``)
or ``file:///absolute/path`` (`FileStorage`, a directory on disk). A backend of your own
implements `StorageBackend`.

`RedisStorage` loads on first use, so importing this package never imports redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svckit.core.errors import ContentTooLargeError, InvalidKeyError, StorageError
from svckit.storage._backend import StorageBackend
from svckit.storage._file import FileStorage
from svckit.storage._keys import MAX_KEY_LENGTH
from svckit.storage._memory import MemoryStorage, forget_memory_storage, memory_storage_for
from svckit.storage._store import DEFAULT_MAX_SIZE, ContentStore

if TYPE_CHECKING:
    from svckit.storage._redis import RedisStorage

__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_KEY_LENGTH",
    "ContentStore",
    "ContentTooLargeError",
    "FileStorage",
    "InvalidKeyError",
    "MemoryStorage",
    "RedisStorage",
    "StorageBackend",
    "StorageError",
    "forget_memory_storage",
    "memory_storage_for",
]


def __getattr__(name: str) -> Any:
    """Load `RedisStorage` (and with it redis-py) on first use (PEP 562)."""
    if name == "RedisStorage":
        from svckit.storage._redis import RedisStorage  # noqa: PLC0415 - an optional extra

        globals()[name] = RedisStorage
        return RedisStorage
    raise AttributeError(f"module 'svckit.storage' has no attribute {name!r}")
