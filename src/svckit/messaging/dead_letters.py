"""Operate a consumer's dead letters: list, show, replay and purge them.

Every consumer queue ``<service>.<consumer>`` has a dead-letter queue
``<service>.<consumer>.dlq``. Each dead letter keeps the original body and headers (trace
context included) and adds the error's type, message and traceback excerpt, the attempt
count, the original topic and when it was dead-lettered.

Replaying sends a dead letter back to its consumer queue with the attempt count reset to
1, the error headers removed and ``x-svckit-replayed`` counting the replays; the dead letter
is acknowledged only after the broker confirmed the replayed copy. The ``svckit dlq``
command is a thin shell over this class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from svckit.messaging.transport import Headers, Outgoing

if TYPE_CHECKING:
    import builtins
    from collections.abc import Collection, Mapping

    from svckit.messaging.transport import Delivery, Transport

__all__ = ["DeadLetter", "DeadLetters"]

_ERROR_HEADERS = (
    Headers.ERROR_TYPE,
    Headers.ERROR_MESSAGE,
    Headers.ERROR_TRACEBACK,
    Headers.DEAD_LETTERED_AT,
)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter, as `DeadLetters.list` and `DeadLetters.show` return it."""

    message_id: str | None
    topic: str
    error_type: str
    error_message: str
    traceback: str
    attempt: int
    dead_lettered_at: str
    body: bytes
    headers: Mapping[str, Any]

    @classmethod
    def from_delivery(cls, delivery: Delivery | Outgoing) -> DeadLetter:
        """Read the dead-letter headers of a delivery (or of a message a broker holds)."""
        headers = delivery.headers
        death = _first_death(headers)
        return cls(
            message_id=delivery.message_id,
            topic=str(
                headers.get(Headers.ROUTING_KEY)
                or next(iter(death.get("routing-keys") or []), None)
                or delivery.routing_key
            ),
            # A message the broker dead-lettered itself (delivery limit) has only x-death.
            error_type=str(headers.get(Headers.ERROR_TYPE) or death.get("reason", "unknown")),
            error_message=str(headers.get(Headers.ERROR_MESSAGE, "")),
            traceback=str(headers.get(Headers.ERROR_TRACEBACK, "")),
            attempt=int(headers.get(Headers.ATTEMPT, 1) or 1),
            dead_lettered_at=str(headers.get(Headers.DEAD_LETTERED_AT, "")),
            body=delivery.body,
            headers=dict(headers),
        )


def _first_death(headers: Mapping[str, Any]) -> Mapping[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


class DeadLetters:
    """The dead letters of one consumer queue.

    Example:
        ```python
        letters = DeadLetters(bus.transport, "users.notify")
        for letter in await letters.list():
            print(letter.message_id, letter.error_type)
        await letters.replay(all_letters=True)
        ```
    """

    def __init__(self, transport: Transport, queue: str) -> None:
        """Work on ``queue``'s dead letters (the queue name, with or without ``.dlq``)."""
        self.transport = transport
        self.queue = queue.removesuffix(".dlq")
        self.dead_letter_queue = f"{self.queue}.dlq"

    async def count(self) -> int:
        """How many dead letters wait."""
        return await self.transport.message_count(self.dead_letter_queue)

    async def list(self, limit: int = 100) -> builtins.list[DeadLetter]:
        """Read up to ``limit`` dead letters, oldest first, leaving them in place."""
        held = await self._take(limit)
        try:
            return [DeadLetter.from_delivery(d) for d in held]
        finally:
            await _give_back(held)

    async def show(self, message_id: str, *, limit: int = 10_000) -> DeadLetter | None:
        """The dead letter with ``message_id`` (among the first ``limit``), or None."""
        for letter in await self.list(limit):
            if letter.message_id == message_id:
                return letter
        return None

    async def replay(
        self,
        message_ids: Collection[str] | None = None,
        *,
        limit: int = 10_000,
    ) -> int:
        """Send dead letters back to their queue; all of them when ``message_ids`` is None.

        Returns:
            How many were replayed.
        """
        held = await self._take(limit)
        kept: builtins.list[Delivery] = []
        replayed = 0
        try:
            while held:
                delivery = held.pop(0)
                if message_ids is not None and delivery.message_id not in message_ids:
                    kept.append(delivery)
                    continue
                await self.transport.publish("", self._replayed(delivery), mandatory=True)
                await delivery.ack()
                replayed += 1
        finally:
            await _give_back(kept + held)
        return replayed

    async def purge(self) -> int:
        """Delete every dead letter; return how many."""
        return await self.transport.purge(self.dead_letter_queue)

    async def _take(self, limit: int) -> builtins.list[Delivery]:
        held: builtins.list[Delivery] = []
        while len(held) < limit:
            delivery = await self.transport.get(self.dead_letter_queue)
            if delivery is None:
                break
            held.append(delivery)
        return held

    def _replayed(self, delivery: Delivery) -> Outgoing:
        headers = {k: v for k, v in delivery.headers.items() if k not in _ERROR_HEADERS}
        headers.pop("x-death", None)
        headers[Headers.ATTEMPT] = 1
        headers[Headers.REPLAYED] = int(headers.get(Headers.REPLAYED, 0) or 0) + 1
        headers.setdefault(Headers.ROUTING_KEY, delivery.routing_key)
        return Outgoing(
            body=delivery.body,
            routing_key=self.queue,
            message_id=delivery.message_id or "",
            timestamp=delivery.timestamp or datetime.now(UTC),
            type=delivery.type,
            correlation_id=delivery.correlation_id,
            headers=headers,
        )


async def _give_back(deliveries: list[Delivery]) -> None:
    # Oldest first: RabbitMQ serves returned messages in the order they came back.
    for delivery in deliveries:
        await delivery.nack(requeue=True)
