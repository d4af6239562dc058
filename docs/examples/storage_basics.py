"""The content store: bytes by key, with a time to live and a size limit.

Run it as is (``python docs/examples/storage_basics.py``); it uses the in-memory store
and a temporary directory.
"""

from __future__ import annotations

import asyncio
import tempfile

from svckit.storage import ContentStore, ContentTooLargeError, InvalidKeyError


async def main(url: str = "memory://") -> None:
    # --8<-- [start:basics]
    async with ContentStore.from_url(url, max_size=1024 * 1024) as store:
        photo = b"\xff\xd8\xff\xe0 a JPEG, or any bytes at all \x00\xff"
        await store.put("uploads/7/avatar", photo, ttl=3600)  # an hour, then gone
        assert await store.get("uploads/7/avatar") == photo  # byte for byte
        assert await store.exists("uploads/7/avatar")
        assert await store.get("uploads/7/missing") is None

        # Too large: refused before anything is written.
        try:
            await store.put("uploads/7/huge", b"x" * (1024 * 1024 + 1))
        except ContentTooLargeError as exc:
            print(exc)
        assert not await store.exists("uploads/7/huge")

        # A key cannot climb out of the store (InvalidKeyError is also a ValueError).
        try:
            await store.get("../../etc/passwd")
        except InvalidKeyError as exc:
            print(exc)

        assert await store.delete("uploads/7/avatar") is True
    # --8<-- [end:basics]
    print(f"content store on {store.backend.describe()}: ok")


async def shared_memory() -> None:
    # --8<-- [start:shared]
    # Every memory:// store in one process is one store, as the embedded broker is one
    # broker: an API and a worker in one process see each other's content.
    async with (
        ContentStore.from_url("memory://") as api,
        ContentStore.from_url("memory://") as worker,
    ):
        await api.put("uploads/1/original", b"photo")
        assert await worker.get("uploads/1/original") == b"photo"
    # --8<-- [end:shared]


if __name__ == "__main__":
    asyncio.run(main())
    asyncio.run(shared_memory())
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(f"file://{directory}"))
