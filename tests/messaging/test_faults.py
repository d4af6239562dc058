"""What happens when the parts around a handler fail: nothing is lost, nothing stalls."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from svckit import PublishError, RetryPolicy
from svckit.messaging import Bus, Event, Headers, Incoming, MemoryInbox, consumer
from svckit.messaging.memory import MemoryTransport
from tests.messaging.conftest import Recorder, eventually
from tests.messaging.test_contract import _publish_raw

if TYPE_CHECKING:
    from collections.abc import Callable

    from svckit.messaging import Outgoing
    from svckit.messaging.idempotency import InboxState

FAST = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, jitter=0)


class Ping(Event, topic="faults.ping"):
    n: int


class Pong(Event, topic="faults.pong"):
    n: int


class FlakyTransport(MemoryTransport):
    """Refuses the first ``failures`` publishes to a delay queue, as a broker in trouble."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        if ".delay." in message.routing_key and self.failures > 0:
            self.failures -= 1
            raise PublishError("broker refused the message")
        await super().publish(exchange, message, mandatory=mandatory)


class BrokenInbox(MemoryInbox):
    async def begin(self, key: str, lease: float, *, holder: str) -> InboxState:
        del key, lease, holder
        raise ConnectionError("redis is down")


def _url() -> str:
    return f"memory://faults-{uuid.uuid4().hex}"


async def test_a_refused_retry_gives_the_message_back_instead_of_stalling(
    recorder: Recorder,
) -> None:
    @consumer(retry=FAST, prefetch=1)
    async def ping(message: Ping, incoming: Incoming) -> None:
        await recorder.add((message.n, incoming.attempt, incoming.redelivered))
        if incoming.attempt == 1 and message.n == 1:
            raise RuntimeError("first try fails")

    url = _url()
    bus = Bus(service="f", transport=FlakyTransport(url, failures=2))
    c = bus.add_consumer(ping)
    async with bus:
        await c.start()
        await bus.publish(Ping(n=1))
        await bus.publish(Ping(n=2))
        # Two refused retry copies: the message goes back twice, then its retry goes through.
        items = await recorder.wait_for(5)
        await c.stop()
    assert [item for item in items if item[0] == 1] == [
        (1, 1, False),
        (1, 1, True),
        (1, 1, True),
        (1, 2, False),
    ]
    assert (2, 1, False) in items


async def test_an_unavailable_inbox_does_not_stop_an_idempotent_consumer(
    recorder: Recorder,
) -> None:
    @consumer(idempotent=True)
    async def ping(message: Ping) -> None:
        await recorder.add(message.n)

    bus = Bus(_url(), service="f", inbox=BrokenInbox())
    c = bus.add_consumer(ping)
    async with bus:
        await c.start()
        for n in range(3):
            await bus.publish(Ping(n=n))
        assert await recorder.wait_for(3) == [0, 1, 2]
        await c.stop()


async def test_closing_the_bus_gives_back_what_its_consumers_held(recorder: Recorder) -> None:
    import asyncio  # noqa: PLC0415

    never = asyncio.Event()

    @consumer()
    async def ping(message: Ping) -> None:
        await recorder.add(message.n)
        await never.wait()

    url = _url()
    bus = Bus(url, service="f")
    c = bus.add_consumer(ping)
    async with bus:
        await c.start()
        await bus.publish(Ping(n=1))
        await recorder.wait_for(1)
    # The connection closed under a running handler: the message is back in its queue.
    transport = bus.transport
    assert isinstance(transport, MemoryTransport)
    [back] = transport.broker.messages(c.name)
    assert back.body == b'{"n":1}'
    await c.drain(0)


async def test_messages_without_ids_are_each_processed_by_an_idempotent_consumer(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer("faults.#", idempotent=True)
    async def raw(body: dict[str, Any]) -> None:
        await recorder.add(body["n"])

    bus = make_bus()
    c = bus.add_consumer(raw)
    async with bus:
        await c.start()
        for n in range(3):
            await _publish_raw(bus, "faults.raw", f'{{"n": {n}}}'.encode(), message_id="")
        assert sorted(await recorder.wait_for(3)) == [0, 1, 2]
        await c.stop()


async def test_the_request_id_travels_on_with_what_a_handler_publishes(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    bus = make_bus()

    @consumer()
    async def ping(message: Ping) -> None:
        await bus.publish(Pong(n=message.n))

    @consumer()
    async def pong(message: Pong, incoming: Incoming) -> None:
        await recorder.add((message.n, incoming.request_id))

    consumers = [bus.add_consumer(ping), bus.add_consumer(pong)]
    async with bus:
        for c in consumers:
            await c.start()
        await bus.publish(Ping(n=7), headers={Headers.REQUEST_ID: "req-42"})
        assert await recorder.wait_for(1) == [(7, "req-42")]
        for c in consumers:
            await c.stop()


async def test_the_retry_deadline_sends_a_message_to_dead_letters(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    # AMQP timestamps have a resolution of one second: the deadline leaves room for that.
    policy = RetryPolicy(attempts=50, initial_delay=0.1, max_delay=0.1, jitter=0, deadline=1.6)

    @consumer(retry=policy)
    async def ping(message: Ping, incoming: Incoming) -> None:
        await recorder.add(incoming.attempt)
        raise RuntimeError(f"ping {message.n} keeps failing")

    bus = make_bus()
    c = bus.add_consumer(ping)
    async with bus:
        await c.start()
        await bus.publish(Ping(n=1))

        async def dead_lettered() -> bool:
            return await bus.transport.message_count(f"{c.name}.dlq") == 1

        await eventually(dead_lettered, timeout=10, message="the deadline to end the retries")
        await c.stop()
    assert 2 <= len(recorder.items) < 50
