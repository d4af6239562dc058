"""The file backend: its layout on disk, atomic writes, expiry, sweeps and failures."""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

import pytest

from svckit import ConfigurationError
from svckit.storage import ContentStore, FileStorage, InvalidKeyError, StorageError
from tests.storage.conftest import eventually
from tests.storage.test_contract import HOSTILE_KEYS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def files(tmp_path: Path, clock: FakeClock) -> AsyncIterator[FileStorage]:
    backend = FileStorage(tmp_path / "store", clock=clock, sweep_interval=60)
    yield backend
    await backend.aclose()


def everything_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


async def test_a_key_is_a_file_with_a_header_and_the_content(files: FileStorage) -> None:
    await files.put("media/original/abc", b"\xff\xd8 jpeg", None)
    path = files.root / "media" / "original" / "abc~"
    raw = path.read_bytes()
    assert raw[:4] == b"SVK1"
    assert struct.unpack(">d", raw[4:12]) == (0.0,)
    assert raw[12:] == b"\xff\xd8 jpeg"
    assert everything_under(files.root) == ["media", "media/original", "media/original/abc~"]


async def test_a_put_leaves_no_temporary_file_even_when_it_fails(
    files: FileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await files.put("k", b"old", None)

    def broken_fsync(fd: int) -> None:
        raise OSError(28, f"No space left on device (fd {fd})")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(StorageError, match="No space left on device"):
        await files.put("k", b"new", None)
    monkeypatch.undo()
    assert everything_under(files.root) == ["k~"]
    assert await files.get("k") == b"old", "a failed put leaves the old content whole"


async def test_a_put_remakes_the_folder_a_sweep_pruned_under_it(
    files: FileStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open
    calls = 0

    def open_after_a_prune(path: Path, flags: int, mode: int = 0o777) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:  # the sweep removed the empty folder between mkdir and open
            path.parent.rmdir()
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_after_a_prune)
    await files.put("new/folder/k", b"x", None)
    monkeypatch.undo()
    assert calls == 2
    assert await files.get("new/folder/k") == b"x"


async def test_hostile_keys_write_nothing_anywhere(tmp_path: Path) -> None:
    inside = tmp_path / "a" / "b"
    store = ContentStore(FileStorage(inside))
    for key in HOSTILE_KEYS:
        with pytest.raises(InvalidKeyError):
            await store.put(key, b"x")
    assert everything_under(tmp_path) == []


def test_the_backend_itself_checks_keys(files: FileStorage) -> None:
    with pytest.raises(InvalidKeyError):
        files._path("../../etc/passwd")


async def test_an_expired_file_is_invisible_and_removed_when_read(
    files: FileStorage, clock: FakeClock
) -> None:
    await files.put("a/k", b"x", 10)
    clock.now += 11
    assert not await files.exists("a/k")
    assert not (files.root / "a" / "k~").exists()


async def test_a_fresh_put_racing_with_an_expiry_removal_is_kept(files: FileStorage) -> None:
    # The removal found the file expired; a put replaced it before the removal renamed it.
    await files.put("k", b"fresh", 3600)
    files._drop_expired(files.root / "k~")
    assert await files.get("k") == b"fresh"
    assert everything_under(files.root) == ["k~"]


async def test_a_sweep_removes_expired_files_leftovers_and_empty_folders(
    files: FileStorage, clock: FakeClock
) -> None:
    await files.put("gone/one", b"x", 10)
    await files.put("gone/deep/two", b"x", 10)
    await files.put("kept/three", b"x", None)
    leftover = files.root / "kept" / ".three~0123456789abcdef.tmp"
    leftover.write_bytes(b"half a write")
    young = files.root / "kept" / ".three~fedcba9876543210.tmp"
    young.write_bytes(b"a write in progress")
    old = clock.now - 7200
    os.utime(leftover, (old, old))
    clock.now += 11
    os.utime(young, (clock.now, clock.now))

    assert await files.sweep() == 2
    assert everything_under(files.root) == ["kept", f"kept/{young.name}", "kept/three~"]


async def test_a_put_starts_a_sweep_once_the_interval_has_passed(
    files: FileStorage, clock: FakeClock
) -> None:
    await files.put("old/k", b"x", 10)
    clock.now += 61
    await files.put("new/k", b"y", None)

    async def swept() -> bool:
        return not (files.root / "old").exists()

    await eventually(swept)
    assert everything_under(files.root) == ["new", "new/k~"]


async def test_a_deleted_key_takes_its_empty_folders_along(files: FileStorage) -> None:
    await files.put("a/b/c", b"x", None)
    await files.put("a/d", b"x", None)
    assert await files.delete("a/b/c")
    assert everything_under(files.root) == ["a", "a/d~"]


async def test_a_file_that_is_not_content_is_a_storage_error(files: FileStorage) -> None:
    files.root.mkdir(parents=True)
    (files.root / "planted~").write_bytes(b"not ours")
    with pytest.raises(StorageError, match="not a content file"):
        await files.get("planted")


async def test_a_directory_that_cannot_be_made_is_down_and_fails_puts(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    store = ContentStore(FileStorage(blocker / "store"))
    async with store:
        health = await store.health()
        assert health.status == "down"
        assert "file store at" in health.detail
        with pytest.raises(StorageError, match="NotADirectoryError"):
            await store.put("k", b"x")


def test_a_file_url_names_an_absolute_directory(tmp_path: Path) -> None:
    store = ContentStore.from_url(f"file://{tmp_path}/with%20space")
    assert isinstance(store.backend, FileStorage)
    assert store.backend.root == tmp_path / "with space"
    assert store.backend.describe() == f"file://{tmp_path}/with space"
    assert (
        ContentStore.from_url(f"file://localhost{tmp_path}")
        .backend.describe()
        .endswith(str(tmp_path))
    )
    for bad in ("file://relative/path", "file:", f"file://{tmp_path}?x=1", "file:///a%00b"):
        with pytest.raises(ConfigurationError, match="file://"):
            ContentStore.from_url(bad)


def test_a_relative_root_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute path"):
        FileStorage("relative/dir")
