"""A frame no decoder can read costs its own message, not its neighbours' deliveries.

When the consuming connection is lost over a frame that even the lenient decoder cannot
read, the broker redelivers that message first, and it breaks the connection again each
time; every delivery it breaks counts against its neighbours' delivery limit too. So the
consumer resumes with a prefetch of one until one delivery has settled: only the suspect
is charged, the broker dead-letters it at its limit, and the neighbours are processed.

No such frame gets past RabbitMQ's own checks today; the test makes one by refusing, in
the lenient decoder, a message carrying a marker.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from svckit.messaging import _amqp_frames
from svckit.messaging.amqp import AmqpTransport
from svckit.messaging.transport import QueueSpec

from ._amqp_helpers import AMQP_URL, delete_topology, message_count, unique, wait_until
from ._amqp_wire import RawPublisher, header_frame, longstr

if TYPE_CHECKING:
    from svckit.messaging.transport import Delivery

MARKER = b"svckit-test-undecodable"
NEIGHBOURS = 5


@pytest.mark.rabbitmq
@pytest.mark.timeout(60)
async def test_a_message_that_breaks_the_connection_is_dead_lettered_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lenient = _amqp_frames._lenient_header

    def refuse_the_marked(payload: bytes) -> Any:
        if MARKER in payload:
            raise ValueError("no decoder reads this")
        return lenient(payload)

    monkeypatch.setattr(_amqp_frames, "_lenient_header", refuse_the_marked)
    queue = QueueSpec(
        name=unique("suspect"), exchange=unique("suspect-ex"), patterns=("#",), delivery_limit=2
    )
    transport = AmqpTransport(AMQP_URL, watchdog_interval=0.2)
    charged: dict[str, int] = {}

    async def on_delivery(delivery: Delivery) -> None:
        charged[delivery.message_id or ""] = int(delivery.headers.get("x-delivery-count", 0))
        await delivery.ack()

    raw = await RawPublisher.open()
    try:
        await transport.connect()
        await transport.declare_exchange(queue.exchange)
        await transport.declare_queue(queue)
        # The suspect first (pamqp refuses its message id, the lenient decoder its marker),
        # then its neighbours, all in the broker before the consumer starts.
        body = b"{}"
        suspect = header_frame(
            1, len(body), message_id=b"suspect-\xff", headers=[(b"marker", longstr(MARKER))]
        )
        await raw.publish(queue.name, body, suspect)
        for n in range(NEIGHBOURS):
            neighbour = json.dumps({"n": n}).encode()
            frame = header_frame(1, len(neighbour), message_id=f"n-{n}".encode())
            await raw.publish(queue.name, neighbour, frame)
        subscription = await transport.consume(queue.name, on_delivery, prefetch=10)

        async def neighbours_processed() -> bool:
            return len(charged) == NEIGHBOURS

        await wait_until(
            neighbours_processed,
            timeout=40,
            what="every neighbour processed",
            explain=lambda: f"processed: {charged}",
        )
        # Only the first loss, when they were prefetched behind it, counted against them.
        assert all(count <= 1 for count in charged.values()), charged

        async def suspect_dead_lettered() -> bool:
            return await message_count(queue.dead_letter_queue) == 1

        await wait_until(suspect_dead_lettered, timeout=10, what="the suspect dead-lettered")
        assert not subscription.cautious  # the prefetch is back
        assert await message_count(queue.name) == 0
    finally:
        await raw.close()
        await transport.close()
        await delete_topology(queue.exchange, [queue.name, queue.dead_letter_queue])
