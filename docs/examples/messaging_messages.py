"""Events and commands: declare them, publish them, and see what travels on the wire.

Run it as is (``python docs/examples/messaging_messages.py``); it uses the embedded broker.
"""

from __future__ import annotations

import asyncio
import json

from svckit import UnroutableError
from svckit.messaging import Bus, Command, Event, Headers, MemoryTransport, consumer


# --8<-- [start:models]
class UserCreated(Event, topic="user.created"):
    """Something happened: a user signed up. Any number of services may care, or none."""

    user_id: int
    email: str


class ProcessMedia(Command, topic="media.process", version=2):
    """A request for work: some queue must receive it."""

    media_key: str
    thumbnail: bool = True


# --8<-- [end:models]

made: list[str] = []


@consumer()
async def make_thumbnail(command: ProcessMedia) -> None:
    made.append(command.media_key)


async def main(bus_url: str = "memory://") -> None:
    # --8<-- [start:publish]
    async with Bus(bus_url, service="users") as bus:
        # Nobody subscribes to user.created yet: the event is simply not delivered.
        await bus.publish(UserCreated(user_id=1, email="ada@example.org"))

        # No queue receives media.process yet: publishing the command fails.
        try:
            await bus.publish(ProcessMedia(media_key="uploads/1.png"))
        except UnroutableError as exc:
            print(f"not sent: {exc}")
        else:
            raise AssertionError("a command that no queue receives must not be sent")
    # --8<-- [end:publish]

    # --8<-- [start:wire]
    media = Bus(bus_url, service="media")
    thumbnails = media.add_consumer(make_thumbnail)  # its queue: media.make_thumbnail
    async with media, Bus(bus_url, service="users") as users:
        await thumbnails.start()  # declares the queue and binds it to media.process
        message_id = await users.publish(
            ProcessMedia(media_key="uploads/1.png"), correlation_id="upload-1"
        )

        transport = users.transport
        assert isinstance(transport, MemoryTransport)
        sent = transport.broker.published[-1]
        # The body is the model's plain JSON: any AMQP client in any language reads it.
        assert json.loads(sent.body) == {"media_key": "uploads/1.png", "thumbnail": True}
        assert sent.content_type == "application/json"
        # Metadata travels in AMQP properties...
        assert sent.routing_key == sent.type == "media.process"
        assert sent.message_id == message_id
        assert sent.correlation_id == "upload-1"
        # ...and headers: here the schema version, 2.
        assert sent.headers[Headers.SCHEMA] == ProcessMedia.schema_version

        await transport.broker.wait_idle()
        await thumbnails.stop()
    assert made == ["uploads/1.png"]
    # --8<-- [end:wire]

    # --8<-- [start:evolve]
    # A consumer ignores fields it does not know, so a producer may add fields first.
    newer = b'{"media_key": "uploads/2.png", "thumbnail": false, "priority": "high"}'
    assert ProcessMedia.model_validate_json(newer) == ProcessMedia(
        media_key="uploads/2.png", thumbnail=False
    )
    # --8<-- [end:evolve]
    print(f"published {message_id}: {sent.body.decode()}")


if __name__ == "__main__":
    asyncio.run(main())
