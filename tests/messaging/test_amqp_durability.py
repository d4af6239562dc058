"""Durability against the real RabbitMQ: nothing is lost, whatever happens to the processes.

- A worker process is SIGKILLed mid-stream again and again; every published job is still
  processed (some twice: delivery is at least once) and nothing is dead-lettered. A kill
  re-runs only what was unfinished: a job a killed worker had finished runs again only if
  it finished within `ACK_GRACE` of the kill (its ack could not be on the wire yet), so
  what a kill re-runs is bounded by what was running when it landed.
- The broker application (a private node of the test's own, never the shared one) is
  stopped and started under a running consumer and publisher; every message whose publish
  was confirmed is processed, readiness drops and comes back, and the same consumer
  resumes by itself.
- Handlers finishing out of order under load never make svckit acknowledge a delivery
  twice (which the broker punishes by closing the channel and redelivering everything).

The first two are slow, so both are marked ``slow``.
"""

from __future__ import annotations

import asyncio
import collections
import random
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as redis

from svckit import PublishError
from svckit.core.health import HealthStatus
from svckit.messaging import Bus, Incoming, consumer
from tests._rabbit_node import PrivateNode

from ._amqp_helpers import (
    AMQP_URL,
    REDIS_URL,
    delete_topology,
    message_count,
    unique,
    wait_until,
)
from ._worker_proc import Job, as_consumer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from svckit.messaging.transport import QueueSpec

WORKER_SCRIPT = Path(__file__).with_name("_worker_proc.py")

JOBS = 2_000
KILLS = 20
#: Seconds a job takes (half to one and a half times this; one in 50 takes 30 times).
WORK = 0.02
#: A job that finished this long before its worker was killed must have been acknowledged.
#: A finished message is acknowledged in the next turn of the event loop, within
#: milliseconds; the margin is for a loaded machine's scheduling (a turn of the loop or
#: the kill itself delayed). Before acks were prompt, jobs finished 0.37 s before a kill
#: ran again.
ACK_GRACE = 0.1
#: How many new jobs a worker must finish before it is killed. It varies, so the kills
#: land at different points of the stream (a worker holds up to 20 jobs at a time).
PROGRESS_BEFORE_KILL = [15 + (37 * i) % 45 for i in range(KILLS)]


class WorkerProcess:
    """One `_worker_proc` process, its output kept in a file for failure messages."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.args = args
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER_SCRIPT), *self.args, stdout=out, stderr=out
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    async def stop(self, sig: signal.Signals) -> int:
        """Send ``sig`` and wait for the exit; return the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(30):
            return await self.process.wait()


class KilledWorkers:
    """Starts `_worker_proc` workers on one queue and watches their progress in Redis."""

    def __init__(self, store: redis.Redis, logs: Path, service: str, exchange: str) -> None:
        self.store = store
        self.logs = logs
        self.key = unique("svckit-test:kill")
        self.args = (
            *("--service", service, "--exchange", exchange),
            *("--key", self.key, "--work", str(WORK)),
        )
        self.workers: list[WorkerProcess] = []
        self.killed_at: dict[int, float] = {}

    async def finished(self) -> int:
        """How many distinct jobs some handler finished."""
        return int(await self.store.scard(f"{self.key}:done"))

    async def start(self) -> WorkerProcess:
        generation = str(len(self.workers))
        worker = WorkerProcess(
            self.logs / f"worker-{generation}.log", *self.args, "--generation", generation
        )
        self.workers.append(worker)
        await worker.start()
        return worker

    async def wait_for(self, worker: WorkerProcess, finished: int, timeout: float) -> None:
        """Wait until ``finished`` jobs are done, failing if ``worker`` dies meanwhile."""

        async def reached() -> bool:
            if not worker.alive:
                pytest.fail(f"a worker exited on its own:\n{worker.log_tail()}")
            return await self.finished() >= finished

        await wait_until(reached, timeout=timeout, what=f"{finished} jobs finished")

    async def kill_mid_stream(self, progress: int) -> None:
        """Start a worker, let it finish ``progress`` more jobs, then SIGKILL it."""
        worker = await self.start()
        await self.wait_for(worker, await self.finished() + progress, timeout=30)
        self.killed_at[len(self.workers) - 1] = time.time()
        assert await worker.stop(signal.SIGKILL) == -signal.SIGKILL
        assert await self.finished() < JOBS, "a kill must land mid-stream"

    async def done(self) -> set[int]:
        return {int(seq) for seq in await self.store.smembers(f"{self.key}:done")}

    async def redelivered(self) -> int:
        return int(await self.store.scard(f"{self.key}:redelivered"))

    async def calls(self) -> int:
        return int(await self.store.get(f"{self.key}:calls") or 0)

    async def running(self, generation: int) -> int:
        """How many handlers the worker of ``generation`` was running (when it died)."""
        return int(await self.store.get(f"{self.key}:running:{generation}") or 0)

    async def reruns(self, generation: int) -> list[float]:
        """Seconds before its kill that each job the worker finished, and ran again, finished."""
        finished = await self.store.lrange(f"{self.key}:reruns:{generation}", 0, -1)
        killed_at = self.killed_at.get(generation, time.time())
        return [round(killed_at - float(at), 3) for at in finished]

    async def clean_up(self) -> None:
        for worker in self.workers:
            if worker.alive:
                await worker.stop(signal.SIGKILL)
        names = ["done", "redelivered", "calls", "done-by", "done-at"]
        for generation in range(len(self.workers)):
            names += [f"running:{generation}", f"reruns:{generation}"]
        await self.store.delete(*(f"{self.key}:{name}" for name in names))


@pytest.fixture
async def store() -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def publish_jobs(service: str, exchange: str, count: int) -> QueueSpec:
    """Declare the workers' queue and publish ``count`` jobs to it; return the queue."""

    async def declared_only(_: Job, __: Incoming) -> None:
        raise AssertionError("the test process only declares the queue")

    bus = Bus(AMQP_URL, service=service, exchange=exchange)
    queue = bus.add_consumer(as_consumer(declared_only, prefetch=20)).queue
    async with bus:
        await bus.transport.declare_queue(queue)
        for start in range(0, count, 200):
            batch = range(start, min(start + 200, count))
            await asyncio.gather(*(bus.publish(Job(seq=seq)) for seq in batch))
    return queue


@pytest.mark.rabbitmq
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_a_worker_killed_again_and_again_loses_no_message(
    store: redis.Redis, tmp_path: Path
) -> None:
    service, exchange = unique("kill"), unique("kill-ex")
    workers = KilledWorkers(store, tmp_path, service, exchange)
    queue: QueueSpec | None = None
    try:
        queue = await publish_jobs(service, exchange, JOBS)
        for progress in PROGRESS_BEFORE_KILL:
            await workers.kill_mid_stream(progress)

        final = await workers.start()
        await workers.wait_for(final, JOBS, timeout=60)
        # A graceful stop settles what it finished: nothing is left in the queue.
        assert await final.stop(signal.SIGTERM) == 0, final.log_tail()

        assert await workers.done() == set(range(JOBS))
        assert await message_count(queue.dead_letter_queue) == 0
        assert await message_count(queue.name) == 0
        # The kills hit unacknowledged work, which the broker handed out again.
        assert await workers.redelivered() > 0
        assert await workers.calls() > JOBS
        # ...but only what was unfinished: a finished job is acknowledged at once, so what a
        # kill re-runs is what was running then, and jobs finished a moment before it.
        late = []
        for generation in range(KILLS + 1):
            reruns = await workers.reruns(generation)
            if any(before > ACK_GRACE for before in reruns):
                running = await workers.running(generation)
                late.append(
                    f"worker {generation} ({running} running when killed) had finished jobs "
                    f"that ran again, this many seconds before its kill: {sorted(reruns)}"
                )
        assert late == [], "\n".join(late)
    finally:
        await workers.clean_up()
        if queue is not None:
            await delete_topology(
                exchange, [queue.name, queue.dead_letter_queue], with_delay_queues_of=[queue.name]
            )


class PublishStream:
    """Publishes numbered jobs, ten at a time, until stopped; remembers the confirmed ones."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.confirmed: set[int] = set()
        self.refused: set[int] = set()
        self._running = True
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        seq = 0
        while self._running:
            batch = range(seq, seq + 10)
            seq += 10
            results = await asyncio.gather(
                *(self.bus.publish(Job(seq=n)) for n in batch), return_exceptions=True
            )
            for n, result in zip(batch, results, strict=True):
                if isinstance(result, PublishError):
                    self.refused.add(n)  # not confirmed: the publisher knows it may be lost
                elif isinstance(result, BaseException):
                    raise result
                else:
                    self.confirmed.add(n)

    def check(self) -> None:
        """Raise what stopped the stream, if it stopped."""
        assert self._task is not None
        if self._task.done():
            self._task.result()
            pytest.fail("the publisher stopped")

    async def stop(self) -> None:
        self._running = False
        assert self._task is not None
        try:
            async with asyncio.timeout(30):
                await self._task
        except TimeoutError:
            pytest.fail("a publish never returned after the broker came back")

    def __str__(self) -> str:
        return f"{len(self.confirmed)} confirmed, {len(self.refused)} refused"


async def restart_broker(node: PrivateNode, bus: Bus) -> None:
    """Stop and start the node's RabbitMQ application; see readiness drop meanwhile."""

    async def down() -> bool:
        return (await bus.health()).status is HealthStatus.DOWN

    await node.stop_app()
    await wait_until(down, timeout=20, what="readiness down while the broker is away")
    await node.start_app()


@pytest.mark.rabbitmq
@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_a_consumer_resumes_after_the_broker_restarts(tmp_path: Path) -> None:
    async with PrivateNode(tmp_path) as node:
        await consume_across_a_restart(node)


async def consume_across_a_restart(node: PrivateNode) -> None:
    processed: set[int] = set()

    @consumer("durability.#", name="resume", prefetch=20)
    async def handle(job: Job) -> None:
        await asyncio.sleep(0.002)  # the job's own work
        processed.add(job.seq)

    bus = Bus(node.url, service=unique("restart"), exchange=unique("restart-ex"))
    resume = bus.add_consumer(handle)
    stream = PublishStream(bus)
    health = "unknown"

    async def up() -> bool:
        nonlocal health
        report = await bus.health()
        health = f"{report.status}: {report.detail}"
        return report.status is HealthStatus.UP

    async def processed_some() -> bool:
        stream.check()
        return len(processed) >= 200

    async def confirmed_after_restart() -> bool:
        stream.check()
        return len(stream.confirmed) >= before + 500

    async def all_confirmed_processed() -> bool:
        return stream.confirmed <= processed

    # The node is the test's own and removed with it: no topology to clean up.
    async with bus:
        await resume.start()
        stream.start()
        await wait_until(processed_some, timeout=30, what="processing before the restart")
        assert await up()
        await restart_broker(node, bus)
        await wait_until(up, timeout=30, what="readiness back", explain=lambda: health)
        before = len(stream.confirmed)
        await wait_until(
            confirmed_after_restart, timeout=30, what="publishing again", explain=stream.__str__
        )
        await stream.stop()
        await wait_until(
            all_confirmed_processed,
            timeout=30,
            what="every confirmed message processed",
            explain=lambda: f"{len(stream.confirmed - processed)} missing",
        )
        assert resume.active
        await resume.stop()
        await resume.drain(10)
        assert await bus.transport.message_count(resume.queue.dead_letter_queue) == 0


@pytest.mark.rabbitmq
@pytest.mark.timeout(60)
async def test_handlers_finishing_out_of_order_never_get_a_delivery_acknowledged_twice() -> None:
    count = 5_000
    seen: collections.Counter[int] = collections.Counter()
    redelivered: list[int] = []
    pace = random.Random(1)

    @consumer("durability.#", name="unordered", prefetch=20)
    async def handle(job: Job, incoming: Incoming) -> None:
        if pace.random() < 0.3:  # some handlers are slower: they finish out of order
            await asyncio.sleep(pace.random() * 0.003)
        seen[job.seq] += 1
        if incoming.redelivered:
            redelivered.append(job.seq)

    bus = Bus(AMQP_URL, service=unique("acks"), exchange=unique("acks-ex"))
    unordered = bus.add_consumer(handle)

    async def all_seen() -> bool:
        return len(seen) == count

    try:
        async with bus:
            await unordered.start()
            # Publishing on the same connection while consuming keeps its write buffer full.
            for start in range(0, count, 500):
                batch = range(start, min(start + 500, count))
                await asyncio.gather(*(bus.publish(Job(seq=seq)) for seq in batch))
            await wait_until(all_seen, timeout=40, what="every message handled")
            await unordered.stop()
            await unordered.drain(10)
        # Nothing crashed and no connection dropped: a redelivery means the broker closed
        # the channel, which it does when a delivery tag is acknowledged twice.
        assert redelivered == [], f"{len(redelivered)} redelivered although nothing failed"
        assert [seq for seq, times in seen.items() if times > 1] == []
    finally:
        await delete_topology(
            bus.exchange, [unordered.queue.name, unordered.queue.dead_letter_queue]
        )
