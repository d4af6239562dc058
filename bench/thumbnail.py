"""The media worker's image work on a 12-megapixel JPEG, against plain Pillow, same run.

The image (4000x3000, noise over a gradient, JPEG quality 90) is made here. Each round
times, one after the other, so that machine load falls on all alike:

- ``svckit_ms``: the worker's thumbnail step (`make_thumbnail`: open, draft, EXIF
  orientation, thumbnail, JPEG encode), as `process_image` runs it in the consumer;
- ``draft_ms``: Pillow open + ``draft`` + ``thumbnail``;
- ``plain_ms``: Pillow open + ``thumbnail(reducing_gap=None)`` (a full decode);
- ``job_ms``: the whole job (`process_image`: thumbnail, full-size compressed copy,
  metadata);
- ``reencode_ms``: Pillow open + full-size JPEG save, the floor of any job that writes a
  full-size copy.

Then ``max_loop_lag_ms``: 8 images are processed at once through the real consumer (a
`MediaWorker` on the embedded broker, ``media.process`` commands), while a ticker task
measures how late the event loop wakes it; ``batch_ms`` is how long the 8 took.

Every figure is the median over the rounds; ``ratio`` and ``job_ratio`` are medians of
the per-round ratios. One JSON line on stdout.

    python bench/thumbnail.py [--rounds 9] [--executor process|thread] [--workers N]

The examples are not installed with svckit: the script puts the repository root on the
import path itself.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from svckit import configure_logging
from svckit.messaging import MemoryTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.media_worker import MediaWorker, MediaWorkerSettings
from examples.media_worker.imaging import make_thumbnail, process_image
from examples.media_worker.messages import MediaProcessed, ProcessMedia

if TYPE_CHECKING:
    from collections.abc import Callable

SIZE = (4000, 3000)
BATCH = 8
TICK = 0.005


def twelve_megapixels() -> bytes:
    """A 4000x3000 JPEG at quality 90: a gradient with 30% noise, as busy as a photo."""
    noise = Image.frombytes("RGB", SIZE, random.Random(12).randbytes(SIZE[0] * SIZE[1] * 3))
    gradient = Image.linear_gradient("L").resize(SIZE).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(gradient, noise, 0.3).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, "JPEG")
    return buffer.getvalue()


def settings_for(args: argparse.Namespace) -> MediaWorkerSettings:
    """Settings on a broker of its own, with the pool the command line asks for."""
    return MediaWorkerSettings(
        bus_url=f"memory://bench-{uuid.uuid4().hex}",
        cache_url="memory://",
        health_port=None,
        log_level="ERROR",
        image_workers=args.workers,
        image_executor=args.executor,
    )


def timed_ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def draft(data: bytes, box: tuple[int, int]) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", box)
        image.thumbnail(box)


def plain(data: bytes, box: tuple[int, int]) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(box, reducing_gap=None)


def reencode(data: bytes, quality: int) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.save(io.BytesIO(), "JPEG", quality=quality)


async def batch_through_the_consumer(
    data: bytes, settings: MediaWorkerSettings
) -> tuple[float, float]:
    """Process ``BATCH`` images at once in a running worker; worst loop lag and wall time."""
    worker = MediaWorker(settings)
    async with worker:
        transport = worker.bus.transport
        assert isinstance(transport, MemoryTransport)  # noqa: S101 - a memory:// URL
        ids = [await worker.store.put_original(data) for _ in range(BATCH)]
        # Start the pool's threads or processes outside the measurement.
        await worker.images.run(make_thumbnail, small_jpeg())
        worst = 0.0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal worst
            loop = asyncio.get_running_loop()
            while not done.is_set():
                before = loop.time()
                await asyncio.sleep(TICK)
                worst = max(worst, loop.time() - before - TICK)

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        for media_id in ids:
            await worker.publish(ProcessMedia(media_id=media_id))
        await transport.broker.wait_idle(timeout=300)
        elapsed = (time.perf_counter() - started) * 1000
        done.set()
        await ticking
        processed = sum(1 for out in transport.broker.published if out.type == MediaProcessed.topic)
        if processed != BATCH:
            raise RuntimeError(f"{processed} of {BATCH} images were processed")
    return worst * 1000, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--executor", choices=("thread", "process"), default="process")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    data = twelve_megapixels()
    settings = settings_for(args)
    configure_logging(settings)
    options = settings.image_options
    box = (options.thumbnail_size, options.thumbnail_size)
    figures: dict[str, list[float]] = {
        name: [] for name in ("svckit", "draft", "plain", "job", "reencode", "lag", "batch")
    }
    for _ in range(args.rounds):
        figures["svckit"].append(timed_ms(lambda: make_thumbnail(data, options)))
        figures["draft"].append(timed_ms(lambda: draft(data, box)))
        figures["plain"].append(timed_ms(lambda: plain(data, box)))
        figures["job"].append(timed_ms(lambda: process_image(data, options)))
        figures["reencode"].append(timed_ms(lambda: reencode(data, options.compressed_quality)))
        lag, batch = asyncio.run(batch_through_the_consumer(data, settings_for(args)))
        figures["lag"].append(lag)
        figures["batch"].append(batch)

    def median(name: str) -> float:
        return round(statistics.median(figures[name]), 1)

    def median_ratio(top: str, bottom: str) -> float:
        pairs = zip(figures[top], figures[bottom], strict=True)
        return round(statistics.median(a / b for a, b in pairs), 3)

    line = {
        "bench": "thumbnail",
        "image": f"{SIZE[0]}x{SIZE[1]} JPEG q90, {len(data)} bytes",
        "svckit_ms": median("svckit"),
        "draft_ms": median("draft"),
        "plain_ms": median("plain"),
        "ratio": median_ratio("svckit", "draft"),
        "job_ms": median("job"),
        "reencode_ms": median("reencode"),
        "job_ratio": median_ratio("job", "reencode"),
        "max_loop_lag_ms": median("lag"),
        "worst_loop_lag_ms": round(max(figures["lag"]), 1),
        "batch_ms": median("batch"),
        "batch_size": BATCH,
        "executor": args.executor,
        "workers": args.workers,
        "rounds": args.rounds,
    }
    json.dump(line, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
