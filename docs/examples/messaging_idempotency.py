"""Idempotent consumers: a message id already processed is acknowledged and skipped.

Run it as is (``python docs/examples/messaging_idempotency.py``); it uses the embedded
broker and the in-memory cache.
"""

from __future__ import annotations

import asyncio

from svckit.cache import Cache
from svckit.messaging import Bus, Event, KeyValueInbox, MemoryTransport, consumer


class UserCreated(Event, topic="user.created"):
    user_id: int
    email: str


sent: list[str] = []


# --8<-- [start:consumer]
@consumer(idempotent=True)
async def send_welcome_mail(event: UserCreated) -> None:
    sent.append(event.email)  # stands for a call that must not happen twice


# --8<-- [end:consumer]


async def main(bus_url: str = "memory://", cache_url: str = "memory://") -> None:
    # --8<-- [start:inbox]
    async with Cache.from_url(cache_url, namespace="mailer") as cache:
        # Processed ids are kept in the cache, so every process of the service sees them
        # (on Redis). Without `inbox=`, each bus keeps them in its own memory.
        bus = Bus(bus_url, service="mailer", inbox=KeyValueInbox(cache))
        mailer = bus.add_consumer(send_welcome_mail)
        async with bus:
            await mailer.start()
            event = UserCreated(user_id=1, email="ada@example.org")
            # The same message id twice: a publisher that retried, or a redelivery.
            await bus.publish(event, message_id="user-1-created")
            await bus.publish(event, message_id="user-1-created")
            await bus.publish(UserCreated(user_id=2, email="grace@example.org"))

            transport = bus.transport
            assert isinstance(transport, MemoryTransport)
            await transport.broker.wait_idle()
            await mailer.stop()

    assert sorted(sent) == ["ada@example.org", "grace@example.org"]
    # --8<-- [end:inbox]
    print(f"welcome mails sent: {sent}")


if __name__ == "__main__":
    asyncio.run(main())
