"""The file content store: a directory on disk, shared by the processes that mount it.

A key ``a/b/c`` is the file ``<root>/a/b/c~``. The ``~`` (outside the key alphabet) keeps
files and directories apart, so ``a`` and ``a/b`` are both valid keys; temporary files
(``.c~<random>.tmp``) and tombstones (``.c~<random>.dead``) start with a dot, which no
key segment may, so no key ever names one.

Each file starts with a 12-byte header, ``SVK1`` and the expiry as a big-endian double
(Unix seconds, 0 for none), then the content as it was put. A put writes a temporary file
in the same directory, flushes it to disk and renames it over the old one
(`os.replace`), so a reader in any process sees the old content or the new, never a
part; the header and the content are in one file, so they never disagree.

Expired files are invisible at once and removed when a read finds them, and by a sweep
that runs in a thread at most once per ``sweep_interval`` (started by a put): it reads
only headers, removes the leftovers of crashed writes and prunes empty directories.
Removing an expired file renames it aside first and checks it again, so a fresh put
that raced with the removal is kept, never lost.

Expiry uses the wall clock, which every process on the host shares. On a file system
that ignores case, keys that differ only by case name one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from svckit.core.errors import StorageError
from svckit.storage._keys import check_key

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FileStorage"]

T = TypeVar("T")

_HEADER = struct.Struct(">4sd")
_MAGIC = b"SVK1"
#: A temporary file or tombstone older than this is the leftover of a crash.
_LEFTOVER_AGE = 3600.0
#: How many times a put recreates its directory that a concurrent sweep pruned.
_PUT_TRIES = 3


class FileStorage:
    """A `StorageBackend` on a directory (``file:///absolute/path``).

    Example:
        ```python
        store = ContentStore(FileStorage("/var/lib/media"))
        ```
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        sweep_interval: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Keep content under ``root`` (created on first use).

        Args:
            root: An absolute directory path.
            sweep_interval: Seconds between two sweeps of expired files.
            clock: Unix seconds; tests pass a fake clock to move time.
        """
        path = Path(root)
        if not path.is_absolute():
            raise ValueError(f"the file store's directory must be an absolute path: {root}")
        self.root = path
        self.sweep_interval = sweep_interval
        self._clock = clock
        self._next_sweep = clock() + sweep_interval
        self._sweeping: asyncio.Task[int] | None = None
        self._closing = False

    def _path(self, key: str) -> Path:
        *folders, name = check_key(key).split("/")
        return self.root.joinpath(*folders, name + "~")

    def _error(self, exc: OSError) -> StorageError:
        return StorageError(
            f"file store at {self.root} failed: {type(exc).__name__}: {exc.strerror or exc}"
        )

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(func, *args)
        except OSError as exc:
            raise self._error(exc) from exc

    # ------------------------------------------------------------------ on a thread

    def _expired(self, path: Path) -> bool | None:
        """Whether the file at ``path`` is expired; None when there is no file."""
        try:
            with path.open("rb") as file:
                head = file.read(_HEADER.size)
        except FileNotFoundError:
            return None
        return self._header_expired(head, path)

    def _header_expired(self, head: bytes, path: Path) -> bool:
        if len(head) != _HEADER.size:
            raise OSError(0, f"{path.name} is not a content file (short header)")
        magic, expires_at = cast("tuple[bytes, float]", _HEADER.unpack(head))
        if magic != _MAGIC:
            raise OSError(0, f"{path.name} is not a content file (bad magic)")
        return expires_at != 0 and expires_at <= self._clock()

    def _drop_expired(self, path: Path) -> None:
        tomb = path.with_name(f".{path.name}{secrets.token_hex(8)}.dead")
        try:
            path.rename(tomb)
        except FileNotFoundError:
            return
        try:
            if not self._expired(tomb):
                # A put replaced the file between our read and the rename: put it back,
                # unless an even newer put is already there.
                with contextlib.suppress(FileExistsError):
                    os.link(tomb, path)
        finally:
            tomb.unlink(missing_ok=True)

    def _put(self, path: Path, data: bytes, expires_at: float) -> None:
        header = _HEADER.pack(_MAGIC, expires_at)
        for attempt in range(_PUT_TRIES):
            tmp = path.with_name(f".{path.name}{secrets.token_hex(8)}.tmp")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileNotFoundError:
                if attempt == _PUT_TRIES - 1:
                    raise
                continue  # a sweep pruned the directory in between: make it again
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(header)
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                tmp.replace(path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            return

    def _get(self, path: Path) -> bytes | None:
        try:
            file = path.open("rb")
        except FileNotFoundError:
            return None
        with file:
            if not self._header_expired(file.read(_HEADER.size), path):
                return file.read()
        self._drop_expired(path)
        return None

    def _delete(self, path: Path) -> bool:
        expired = self._expired(path)
        if expired is None:
            return False
        if expired:
            self._drop_expired(path)
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        self._prune(path.parent)
        return True

    def _exists(self, path: Path) -> bool:
        expired = self._expired(path)
        if expired:
            self._drop_expired(path)
        return expired is False

    def _prune(self, folder: Path) -> None:
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty (or gone): stop
            folder = folder.parent

    def _ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(13, f"{self.root} is not writable")

    def sweep_now(self) -> int:
        """Remove expired files, crash leftovers and empty directories; blocking.

        Returns:
            How many expired files were removed.
        """
        removed = 0
        now = self._clock()
        for folder, _dirs, files in os.walk(self.root, topdown=False):
            if self._closing:
                break
            here = Path(folder)
            for name in files:
                path = here / name
                try:
                    if name.endswith("~"):
                        if self._expired(path):
                            self._drop_expired(path)
                            removed += 1
                    elif name.startswith(".") and now - path.stat().st_mtime > _LEFTOVER_AGE:
                        path.unlink(missing_ok=True)
                except OSError:
                    continue  # a foreign or vanished file: the sweep goes on
            if here != self.root:
                with contextlib.suppress(OSError):
                    here.rmdir()  # only an empty directory goes; its parent comes later
        return removed

    # ------------------------------------------------------------------ StorageBackend

    async def put(self, key: str, data: bytes, ttl: float | None) -> None:
        """Write ``data`` to a temporary file and rename it over ``key``'s file."""
        path = self._path(key)
        expires_at = 0.0 if ttl is None else self._clock() + ttl
        await self._run(self._put, path, data, expires_at)
        self._maybe_sweep()

    async def get(self, key: str) -> bytes | None:
        """The content of ``key``'s file, or ``None`` (removing it if it expired)."""
        return await self._run(self._get, self._path(key))

    async def delete(self, key: str) -> bool:
        """Remove ``key``'s file; whether it held unexpired content."""
        return await self._run(self._delete, self._path(key))

    async def exists(self, key: str) -> bool:
        """Whether ``key``'s file exists and has not expired."""
        return await self._run(self._exists, self._path(key))

    async def ping(self) -> None:
        """Create the directory if needed and check that it is writable."""
        await self._run(self._ping)

    async def sweep(self) -> int:
        """Run a sweep now, in a thread; how many expired files it removed."""
        return await self._run(self.sweep_now)

    def _maybe_sweep(self) -> None:
        now = self._clock()
        if self._closing or now < self._next_sweep:
            return
        if self._sweeping is not None and not self._sweeping.done():
            return
        self._next_sweep = now + self.sweep_interval
        self._sweeping = asyncio.create_task(self._background_sweep())

    async def _background_sweep(self) -> int:
        try:
            return await self.sweep()
        except StorageError:
            return 0  # the next sweep tries again; reads stay correct without it

    async def aclose(self) -> None:
        """Stop a running sweep at its next directory and wait for it."""
        self._closing = True
        if self._sweeping is not None:
            await asyncio.gather(self._sweeping, return_exceptions=True)

    def describe(self) -> str:
        """``file://<root>``."""
        return f"file://{self.root}"
