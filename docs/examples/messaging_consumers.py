"""Consumers: topic patterns, what a handler takes, and the consumer's options.

Run it as is (``python docs/examples/messaging_consumers.py``); it uses the embedded broker.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from svckit import RetryPolicy
from svckit.messaging import Bus, Event, Incoming, MemoryTransport, consumer, topic_matches


class OrderPlaced(Event, topic="orders.placed"):
    order_id: int


class OrderShipped(Event, topic="orders.eu.shipped"):
    order_id: int


seen: list[str] = []


# --8<-- [start:patterns]
@consumer("orders.*")  # exactly one word after "orders."
async def count_orders(order: dict[str, Any], incoming: Incoming) -> None:
    seen.append(f"count_orders got {incoming.topic} #{order['order_id']}")


@consumer("orders.#")  # zero or more words after "orders"
async def audit_orders(order: dict[str, Any], incoming: Incoming) -> None:
    seen.append(f"audit_orders got {incoming.topic} #{order['order_id']}")


@consumer()  # no pattern: the topic of the message type, orders.placed
async def reserve_stock(order: OrderPlaced) -> None:
    seen.append(f"reserve_stock got order {order.order_id}")


# --8<-- [end:patterns]

# --8<-- [start:matching]
assert topic_matches("orders.*", "orders.placed")
assert not topic_matches("orders.*", "orders.eu.shipped")
assert topic_matches("orders.#", "orders.eu.shipped")
assert topic_matches("orders.#", "orders")  # "#" also matches no word at all
assert topic_matches("*.*.shipped", "orders.eu.shipped")
# --8<-- [end:matching]


# --8<-- [start:handlers]
@consumer("orders.placed", name="raw_copy")
async def keep_raw_copy(body: bytes) -> None:
    # bytes: the body as it arrived, never validated, so never poison.
    seen.append(f"raw_copy got {json.loads(body)}")


@consumer(name="with_metadata")
async def log_order(order: OrderPlaced, incoming: Incoming) -> None:
    # A second parameter annotated Incoming receives the message's metadata.
    assert incoming.topic == "orders.placed"
    assert incoming.attempt == 1  # 2, 3... on retries
    assert not incoming.redelivered  # True after a consumer died holding it
    assert incoming.correlation_id == "checkout-9"
    assert incoming.message_id is not None
    assert incoming.timestamp is not None
    seen.append(f"with_metadata got order {order.order_id}")


# --8<-- [end:handlers]


# --8<-- [start:options]
@consumer(
    "media.process",
    name="thumbnails",  # the queue is <service>.thumbnails
    retry=RetryPolicy(attempts=5, initial_delay=2.0, max_delay=60.0),
    idempotent=True,  # skip message ids already processed
    prefetch=16,  # unacknowledged messages the broker hands over at once
    concurrency=4,  # handlers running at once (prefetch by default)
    queue_type="quorum",  # or "classic"
    delivery_limit=20,  # deliveries before the broker gives up on a message
)
async def make_thumbnail(command: dict[str, Any]) -> None: ...


# --8<-- [end:options]


async def main(bus_url: str = "memory://") -> None:
    # --8<-- [start:run]
    bus = Bus(bus_url, service="shop")
    consumers = [
        bus.add_consumer(count_orders),
        bus.add_consumer(audit_orders),
        bus.add_consumer(reserve_stock),
        bus.add_consumer(keep_raw_copy),
        bus.add_consumer(log_order),
    ]
    async with bus:
        for each in consumers:
            await each.start()  # a Service does this for you
        await bus.publish(OrderPlaced(order_id=7), correlation_id="checkout-9")
        await bus.publish(OrderShipped(order_id=7))

        transport = bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle()
        for each in consumers:
            await each.stop()

    assert sorted(seen) == [
        "audit_orders got orders.eu.shipped #7",
        "audit_orders got orders.placed #7",
        "count_orders got orders.placed #7",
        "raw_copy got {'order_id': 7}",
        "reserve_stock got order 7",
        "with_metadata got order 7",
    ]
    # --8<-- [end:run]
    assert [each.name for each in consumers] == [
        "shop.count_orders",
        "shop.audit_orders",
        "shop.reserve_stock",
        "shop.raw_copy",
        "shop.with_metadata",
    ]
    thumbnails = bus.add_consumer(make_thumbnail)
    assert thumbnails.name == "shop.thumbnails"
    print("\n".join(sorted(seen)))


if __name__ == "__main__":
    asyncio.run(main())
