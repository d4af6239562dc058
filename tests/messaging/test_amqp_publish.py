"""Publishing on the real RabbitMQ: what the transport refuses, and what it keeps apart.

- Properties too large for the negotiated frame size are refused with `PublishError`
  before anything is written (such a frame makes the broker close the connection).
- `get`, `purge` and `message_count` have a channel of their own: a missing queue
  closes that one, never the publishing channel with publishes in flight on it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from svckit.core.errors import MessagingError, PublishError
from svckit.messaging.amqp import AmqpTransport
from svckit.messaging.transport import Outgoing, QueueSpec

from ._amqp_helpers import AMQP_URL, delete_topology, message_count, unique

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def transport() -> AsyncIterator[AmqpTransport]:
    opened = AmqpTransport(AMQP_URL)
    await opened.connect()
    yield opened
    await opened.close()


@pytest.fixture
async def queue(transport: AmqpTransport) -> AsyncIterator[QueueSpec]:
    spec = QueueSpec(name=unique("publish"), exchange=unique("publish-ex"), patterns=("#",))
    await transport.declare_exchange(spec.exchange)
    await transport.declare_queue(spec)
    yield spec
    await delete_topology(spec.exchange, [spec.name, spec.dead_letter_queue])


def outgoing(n: int, **headers: object) -> Outgoing:
    return Outgoing(
        body=b"{}",
        routing_key="publish.test",
        message_id=f"m-{n}",
        timestamp=datetime.now(UTC),
        headers=dict(headers),
    )


@pytest.mark.rabbitmq
async def test_properties_larger_than_the_frame_size_are_refused_before_sending(
    transport: AmqpTransport, queue: QueueSpec
) -> None:
    assert transport.max_header_bytes == 131_072 - 20  # RabbitMQ's default frame_max
    await transport.publish(queue.exchange, outgoing(1), mandatory=True)
    channel = transport._underlay
    connection = transport._publisher.transport.connection

    with pytest.raises(PublishError, match="frame size"):
        await transport.publish(
            queue.exchange, outgoing(2, big="x" * transport.max_header_bytes), mandatory=True
        )
    # Just under the limit still goes.
    fits = "x" * (transport.max_header_bytes - 200)
    await transport.publish(queue.exchange, outgoing(3, big=fits), mandatory=True)
    await transport.publish(queue.exchange, outgoing(4), mandatory=True)

    assert transport._publisher.transport.connection is connection
    assert transport._underlay is channel
    assert not channel.is_closed
    assert await message_count(queue.name) == 3


@pytest.mark.rabbitmq
async def test_a_missing_queue_in_an_operation_leaves_publishes_alone(
    transport: AmqpTransport, queue: QueueSpec
) -> None:
    await transport.publish(queue.exchange, outgoing(0), mandatory=True)
    channel = transport._underlay
    count = 300
    publishes = [
        asyncio.ensure_future(transport.publish(queue.exchange, outgoing(n), mandatory=True))
        for n in range(1, count)
    ]
    for _ in range(3):
        with pytest.raises(MessagingError, match="no queue"):
            await transport.message_count(unique("missing"))
        with pytest.raises(MessagingError, match="no queue"):
            await transport.get(unique("missing"))
    await asyncio.gather(*publishes)
    # The publishing channel was never closed, so nothing was sent twice.
    assert transport._underlay is channel
    assert not channel.is_closed
    assert await transport.message_count(queue.name) == count
