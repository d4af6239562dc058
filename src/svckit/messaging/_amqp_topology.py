"""RabbitMQ topology: a consumer's queue with its dead-letter queue, and delay queues.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module. Declared on an aio-pika channel, which declares
them again after a reconnect.
"""

from __future__ import annotations

from typing import Any

from svckit.messaging.transport import QueueSpec, QueueType

__all__ = ["declare_delay_queue", "declare_queue"]


def _queue_arguments(queue_type: QueueType, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"x-queue-type": queue_type.value}
    if queue_type is QueueType.QUORUM and "x-dead-letter-routing-key" in extra:
        # Quorum queues dead-letter at least once only with reject-publish overflow.
        args["x-dead-letter-strategy"] = "at-least-once"
        args["x-overflow"] = "reject-publish"
    args.update(extra)
    return args


async def declare_queue(channel: Any, spec: QueueSpec) -> None:
    """Declare the dead-letter queue, the queue (with its limits) and its bindings."""
    await channel.declare_queue(
        spec.dead_letter_queue, durable=True, arguments=_queue_arguments(spec.queue_type)
    )
    extra: dict[str, Any] = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": spec.dead_letter_queue,
    }
    if spec.queue_type is QueueType.QUORUM:
        extra["x-delivery-limit"] = spec.delivery_limit
    queue = await channel.declare_queue(
        spec.name, durable=True, arguments=_queue_arguments(spec.queue_type, **extra)
    )
    for pattern in spec.patterns:
        await queue.bind(spec.exchange, routing_key=pattern)


async def declare_delay_queue(channel: Any, spec: QueueSpec, delay_ms: int) -> None:
    """Declare the queue whose messages expire after ``delay_ms`` back into ``spec``."""
    await channel.declare_queue(
        spec.delay_queue(delay_ms),
        durable=True,
        arguments=_queue_arguments(
            spec.queue_type,
            **{
                "x-message-ttl": delay_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": spec.name,
            },
        ),
    )
