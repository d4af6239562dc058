"""Retries through delay queues, RetryLater and Reject, and what a dead letter carries.

Run it as is (``python docs/examples/messaging_retries.py``); it uses the embedded broker.
The handler's failures are logged: the warnings and errors you see are part of the show.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from svckit import RetryPolicy
from svckit.messaging import (
    Bus,
    Command,
    Headers,
    Incoming,
    MemoryTransport,
    Reject,
    RetryLater,
    consumer,
)


class ChargeCard(Command, topic="payments.charge"):
    order_id: int
    card: str
    amount: int


class CardDeclinedError(ValueError):
    """The bank said no: trying again will not change its mind."""


class GatewayBusyError(Exception):
    """The payment API asked us to come back after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"busy, retry after {retry_after}s")
        self.retry_after = retry_after


class Gateway:
    """Stands for a payment API that misbehaves in scripted ways."""

    def __init__(self) -> None:
        self.timeouts = {1: 2, 2: 99}  # order id -> how many calls time out
        self.busy = {4}  # orders for which the first call is "busy"
        self.charged: list[int] = []

    async def charge(self, command: ChargeCard) -> None:
        if self.timeouts.get(command.order_id, 0) > 0:
            self.timeouts[command.order_id] -= 1
            raise ConnectionError("payment gateway timed out")
        if command.order_id in self.busy:
            self.busy.discard(command.order_id)
            raise GatewayBusyError(retry_after=0.1)
        if command.card == "expired":
            raise CardDeclinedError(f"card of order {command.order_id} has expired")
        self.charged.append(command.order_id)


gateway = Gateway()
tries: defaultdict[int, list[int]] = defaultdict(list)


# --8<-- [start:policy]
GATEWAY_RETRY = RetryPolicy(
    attempts=4,  # tries in all, the first included
    initial_delay=0.05,  # then 0.1 s, then 0.2 s, each jittered down by up to half
    max_delay=1.0,
    retry_on=(ConnectionError,),  # any other error is dead-lettered at once
)


@consumer(retry=GATEWAY_RETRY)
async def charge(command: ChargeCard, incoming: Incoming) -> None:
    tries[command.order_id].append(incoming.attempt)
    if command.amount <= 0:
        raise Reject(f"amount {command.amount} is not positive")  # dead letters, now
    try:
        await gateway.charge(command)  # a ConnectionError is retried by the policy
    except GatewayBusyError as busy:
        raise RetryLater(after=busy.retry_after) from busy  # try again when asked to


# --8<-- [end:policy]


async def main(bus_url: str = "memory://") -> None:
    # --8<-- [start:run]
    bus = Bus(bus_url, service="billing")
    charging = bus.add_consumer(charge)  # its queue: billing.charge
    async with bus:
        await charging.start()
        await bus.publish(ChargeCard(order_id=1, card="4242", amount=10))  # 2 timeouts
        await bus.publish(ChargeCard(order_id=2, card="4242", amount=20))  # always times out
        await bus.publish(ChargeCard(order_id=3, card="4242", amount=0))  # rejected
        await bus.publish(ChargeCard(order_id=4, card="4242", amount=40))  # "come back later"
        await bus.publish(ChargeCard(order_id=5, card="expired", amount=50))  # declined

        transport = bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle()  # retries included
        await charging.stop()

    assert tries == {1: [1, 2, 3], 2: [1, 2, 3, 4], 3: [1], 4: [1, 2], 5: [1]}
    assert sorted(gateway.charged) == [1, 4]
    # --8<-- [end:run]

    # --8<-- [start:dead-letters]
    letters = {
        json.loads(letter.body)["order_id"]: letter.headers
        for letter in transport.broker.messages("billing.charge.dlq")
    }
    assert sorted(letters) == [2, 3, 5]

    timed_out = letters[2]  # every attempt failed
    assert timed_out[Headers.ATTEMPT] == GATEWAY_RETRY.attempts
    assert timed_out[Headers.ERROR_TYPE] == "ConnectionError"
    assert timed_out[Headers.ERROR_MESSAGE] == "payment gateway timed out"
    assert "ConnectionError: payment gateway timed out" in timed_out[Headers.ERROR_TRACEBACK]
    assert timed_out[Headers.QUEUE] == "billing.charge"
    assert timed_out[Headers.ROUTING_KEY] == "payments.charge"  # the original topic
    assert timed_out[Headers.DEAD_LETTERED_AT].endswith("+00:00")  # ISO 8601, UTC

    rejected = letters[3]  # Reject: no retry
    assert rejected[Headers.ATTEMPT] == 1
    assert rejected[Headers.ERROR_TYPE] == "svckit.messaging.control.Reject"
    assert rejected[Headers.ERROR_MESSAGE] == "amount 0 is not positive"

    declined = letters[5]  # not in retry_on: no retry
    assert declined[Headers.ATTEMPT] == 1
    assert declined[Headers.ERROR_TYPE].endswith(".CardDeclinedError")  # module.qualname
    # --8<-- [end:dead-letters]
    for order_id, headers in sorted(letters.items()):
        print(f"order {order_id}: {headers[Headers.ERROR_TYPE]}: {headers[Headers.ERROR_MESSAGE]}")


if __name__ == "__main__":
    asyncio.run(main())
