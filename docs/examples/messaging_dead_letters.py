"""Operate dead letters from Python: count, list, show, replay and purge them.

Run it as is (``python docs/examples/messaging_dead_letters.py``); it uses the embedded
broker. The same calls work on RabbitMQ: ``svckit dlq`` is a thin shell over them.
"""

from __future__ import annotations

import asyncio
import json

from svckit import RetryPolicy
from svckit.messaging import Bus, Event, Headers, Incoming, MemoryTransport, consumer
from svckit.messaging.dead_letters import DeadLetters


class Invoice(Event, topic="billing.invoice"):
    number: int
    customer_id: int


customers = {7: "Ada"}
billed: list[tuple[int, int, int | None]] = []


RETRY = RetryPolicy(attempts=2, initial_delay=0.01, jitter=0)  # fail in publish order


@consumer(retry=RETRY)
async def bill(invoice: Invoice, incoming: Incoming) -> None:
    if invoice.customer_id not in customers:
        raise LookupError(f"invoice {invoice.number}: no customer {invoice.customer_id}")
    billed.append((invoice.number, incoming.attempt, incoming.headers.get(Headers.REPLAYED)))


async def main(bus_url: str = "memory://") -> None:
    bus = Bus(bus_url, service="billing")
    billing = bus.add_consumer(bill)  # its queue: billing.bill
    async with bus:
        await billing.start()
        ids = [
            await bus.publish(Invoice(number=1, customer_id=7)),
            await bus.publish(Invoice(number=2, customer_id=8)),  # unknown customer
            await bus.publish(Invoice(number=3, customer_id=9)),  # unknown customer
        ]
        transport = bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle()

        # --8<-- [start:list]
        letters = DeadLetters(bus.transport, "billing.bill")  # reads billing.bill.dlq
        listed = await letters.list(limit=100)  # oldest first; they stay in the queue
        assert [dead.message_id for dead in listed] == ids[1:]
        assert await letters.count() == len(listed)
        for dead in listed:
            print(dead.message_id, dead.topic, dead.attempt, dead.error_type)
        # --8<-- [end:list]

        # --8<-- [start:show]
        letter = await letters.show(ids[1])
        assert letter is not None
        assert letter.topic == "billing.invoice"
        assert letter.attempt == RETRY.attempts  # it failed on its last try
        assert letter.error_type == "LookupError"
        assert letter.error_message == "invoice 2: no customer 8"
        assert letter.traceback.endswith("LookupError: invoice 2: no customer 8\n")
        assert json.loads(letter.body) == {"number": 2, "customer_id": 8}
        assert letter.headers[Headers.QUEUE] == "billing.bill"  # every header is there
        # --8<-- [end:show]

        # --8<-- [start:replay]
        customers[8] = "Grace"  # the fix is deployed: replay what failed for want of it
        assert await letters.replay([ids[1]]) == 1  # or replay() for every dead letter
        await transport.broker.wait_idle()
        # Back on its queue with the attempt count reset, and counted as a replay.
        assert billed == [(1, 1, None), (2, 1, 1)]
        assert [dead.message_id for dead in await letters.list()] == [ids[2]]
        # --8<-- [end:replay]

        # --8<-- [start:purge]
        assert await letters.purge() == 1  # invoice 3 is gone for good
        assert await letters.count() == 0
        # --8<-- [end:purge]
        await billing.stop()
    print(f"billed: {billed}")


if __name__ == "__main__":
    asyncio.run(main())
