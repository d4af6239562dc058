"""A worker process for the durability tests: a svckit service with one consumer.

Its handler records what it does in Redis, so that the test can watch it from outside
while it kills the process:

- ``<key>:calls``: incremented as each handler starts;
- ``<key>:redelivered``: the seqs of deliveries the broker flagged as redelivered;
- ``<key>:done``: the seqs whose handler finished (the message is acked after this);
- ``<key>:running:<generation>``: handlers of this process running now (started, not
  finished): frozen at the moment a SIGKILL lands;
- ``<key>:done-by`` and ``<key>:done-at``: for each finished seq, the generation of the
  process that finished it and when (``time.time()``), until it starts again;
- ``<key>:reruns:<generation>``: when each job that process finished had finished, for
  the jobs whose handler started again later (finished, but not acknowledged before the
  process died).

::

    python tests/messaging/_worker_proc.py --service S --exchange E --key K [--generation N]

SIGTERM shuts it down gracefully (exit code 0); the tests mostly send SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import TYPE_CHECKING

import redis.asyncio as redis
from pydantic import SecretStr

from svckit.core.service import Service
from svckit.core.settings import Environment, ServiceSettings
from svckit.messaging import Bus, Event, Incoming, consumer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from svckit.core.resource import Resource
    from svckit.core.work import Intake

TOPIC = "durability.job"
CONSUMER_NAME = "record"


def work_of(seq: int, work: float) -> float:
    """Seconds job ``seq`` takes: half to one and a half times ``work``, one in 50 thirty times.

    The same for the same seq. Jobs finish out of order, and fast ones finish while a slow
    one runs before them: a finished job must be acknowledged without waiting for it.
    """
    if seq % 50 == 7:
        return 30 * work
    return work * (0.5 + seq * 7919 % 1000 / 1000)


class Job(Event, topic=TOPIC):
    """One unit of work, numbered."""

    seq: int


def as_consumer(
    handler: Callable[[Job, Incoming], Awaitable[None]], prefetch: int
) -> Callable[[Job, Incoming], Awaitable[None]]:
    """Mark ``handler`` as the worker's consumer (the tests declare the same queue)."""
    return consumer(TOPIC, name=CONSUMER_NAME, prefetch=prefetch)(handler)


class Worker(Service):
    """A service whose only intake records jobs in Redis."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        exchange: str,
        store: redis.Redis,
        key: str,
        work: float,
        prefetch: int,
        generation: int = 0,
    ) -> None:
        super().__init__(settings)
        self.store = store
        self.key = key
        self.work = work
        self.generation = generation
        self.bus = Bus(
            settings.bus_url.get_secret_value(),
            service=settings.service_name,
            exchange=exchange,
        )

        # A function, not the bound method: `consumer` marks the function it is given.
        async def record(job: Job, incoming: Incoming) -> None:
            await self.record(job, incoming)

        self.bus.add_consumer(as_consumer(record, prefetch))

    def resources(self) -> Sequence[Resource]:
        return [self.bus]

    def intakes(self) -> Sequence[Intake]:
        return self.bus.consumers

    async def record(self, job: Job, incoming: Incoming) -> None:
        key, seq = self.key, str(job.seq)
        running = f"{key}:running:{self.generation}"
        async with self.store.pipeline(transaction=True) as started:
            started.incr(f"{key}:calls")
            started.incr(running)
            # Taken off as they are read: the job is unfinished again until this run ends.
            started.hget(f"{key}:done-by", seq)
            started.hget(f"{key}:done-at", seq)
            started.hdel(f"{key}:done-by", seq)
            _, _, finished_by, finished_at, _ = await started.execute()
        if finished_by is not None:  # finished before, by the process of that generation
            await self.store.rpush(f"{key}:reruns:{finished_by.decode()}", finished_at)
        if incoming.redelivered:
            await self.store.sadd(f"{key}:redelivered", job.seq)
        await asyncio.sleep(work_of(job.seq, self.work))  # a kill lands in the middle
        async with self.store.pipeline(transaction=True) as finished:
            finished.sadd(f"{key}:done", job.seq)
            finished.hset(f"{key}:done-by", seq, str(self.generation))
            finished.hset(f"{key}:done-at", seq, repr(time.time()))
            finished.decr(running)
            await finished.execute()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="svckit durability-test worker")
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--service", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--work", type=float, default=0.005, help="seconds per job")
    parser.add_argument("--prefetch", type=int, default=20)
    parser.add_argument("--generation", type=int, default=0, help="which process this is")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    settings = ServiceSettings(
        service_name=args.service,
        bus_url=SecretStr(args.url),
        environment=Environment.TEST,
        log_level=args.log_level,
        log_format="console",
        shutdown_timeout=10,
    )
    store = redis.Redis.from_url(args.redis_url)
    try:
        worker = Worker(
            settings,
            exchange=args.exchange,
            store=store,
            key=args.key,
            work=args.work,
            prefetch=args.prefetch,
            generation=args.generation,
        )
        await worker.run()
    finally:
        await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
