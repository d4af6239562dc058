"""The media worker end to end on the embedded defaults, printing what happened.

``python -m examples.media_worker [--out DIR]`` starts the worker in this process on the
embedded broker, cache and content store, stores the bundled sample photo, asks for it
to be processed, sends a damaged upload and a user sign-up along, and prints the
statuses, the outputs, the notification and the analytics counters. With ``--out`` it also writes
the thumbnail and the compressed copy there.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from examples.media_worker.analytics import AnalyticsReader
from examples.media_worker.messages import UserCreated
from examples.media_worker.notifications import MemoryNotifier
from examples.media_worker.service import MediaWorker
from examples.media_worker.settings import MediaWorkerSettings
from examples.media_worker.storage import MediaState, submit
from svckit import configure_logging
from svckit.messaging import MemoryTransport

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["SAMPLE", "main", "run_demo"]

#: The bundled sample: a 480x640 photo stored sideways with EXIF orientation 6.
SAMPLE = Path(__file__).with_name("sample.jpg")


async def run_demo(say: Callable[[str], object] = print, out: Path | None = None) -> int:
    """Run the scenario; return 0 when every step came out as expected, else 1."""
    settings = MediaWorkerSettings(
        bus_url=f"memory://media-demo-{uuid.uuid4().hex}",
        cache_url="memory://",
        health_port=None,
        log_level="ERROR",
    )
    configure_logging(settings)
    notifier = MemoryNotifier()
    worker = MediaWorker(settings, notifier=notifier)
    photo = SAMPLE.read_bytes()
    async with worker:
        transport = worker.bus.transport
        assert isinstance(transport, MemoryTransport)  # noqa: S101 - the memory:// URL above
        broker = transport.broker
        say(f"media-worker: started on {settings.bus_url.get_secret_value()}")
        good = await submit(worker.store, worker.bus, photo, user_id=1, filename="sample.jpg")
        say(f"  submitted sample.jpg ({len(photo):,} bytes) as {good}")
        bad = await submit(worker.store, worker.bus, photo[: len(photo) // 2], user_id=1)
        say(f"  submitted half of it (an interrupted upload) as {bad}")
        await worker.publish(UserCreated(user_id=1, email="ada@example.com", name="Ada"))
        say("  published user.created for user 1")
        await broker.wait_idle(timeout=30)

        ok = True
        status = await worker.store.status(good)
        if status is None or status.state is not MediaState.DONE or status.metadata is None:
            say(f"  sample.jpg: unexpected status {status}")
            ok = False
        else:
            meta = status.metadata
            thumbnail = await worker.store.thumbnail(good) or b""
            compressed = await worker.store.compressed(good) or b""
            say(
                f"  sample.jpg: {status.state}; {meta.format} {meta.width}x{meta.height} "
                f"{meta.mode}, EXIF orientation {meta.exif.orientation} applied, camera "
                f"{meta.exif.make} {meta.exif.model}"
            )
            say(
                f"    thumbnail {len(thumbnail):,} bytes, compressed copy {len(compressed):,} bytes"
            )
            if out is not None:
                await asyncio.to_thread(_write, out, good, thumbnail, compressed)
                say(f"    written to {out}")
        failed = await worker.store.status(bad)
        if failed is None or failed.state is not MediaState.FAILED:
            say(f"  the damaged upload: unexpected status {failed}")
            ok = False
        else:
            say(f"  the damaged upload: {failed.state} ({failed.code}): {failed.reason}")
        for _, notification in notifier.sent:
            say(f"  notification to user {notification.user_id}: {notification.subject!r}")
        counts = await AnalyticsReader(worker.counters).hour(datetime.now(UTC))
        say(f"  analytics this hour: {dict(sorted(counts.items()))}")
        ok = ok and len(notifier.sent) == 1
    say("media-worker: stopped")
    return 0 if ok else 1


def _write(out: Path, media_id: str, thumbnail: bytes, compressed: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{media_id}-thumbnail.jpg").write_bytes(thumbnail)
    (out / f"{media_id}-compressed.jpg").write_bytes(compressed)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m examples.media_worker [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m examples.media_worker", description=__doc__)
    parser.add_argument("--out", type=Path, help="write the outputs to this directory")
    args = parser.parse_args(argv)
    return asyncio.run(run_demo(out=args.out))
