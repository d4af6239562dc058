"""Operate a consumer's dead letters: list, show, replay and purge them.

Every consumer queue ``<service>.<consumer>`` has a dead-letter queue
``<service>.<consumer>.dlq``. Each dead letter keeps the original body and headers (trace
context included) and adds the error's type, message and traceback excerpt, the attempt
count, the original topic and when it was dead-lettered.

Replaying sends a dead letter back to its consumer queue with the attempt count reset to
1, the error headers removed and ``x-svckit-replayed`` counting the replays; the dead letter
is acknowledged only after the broker confirmed the replayed copy. The ``svckit dlq``
command is a thin shell over this class.

Reading never gives a dead letter back to the broker (a give-back counts as a delivery,
and a queue's delivery limit would drop it): `list`, `show` and `replay` go once round
the queue, taking each dead letter and publishing an identical copy to its tail (or the
replayed copy to the consumer queue) before acknowledging it, which keeps the order.
Dead letters are foreign input: whatever their headers hold, they are shown as well as
they can be, never refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from svckit.messaging._foreign import printable, sane_int
from svckit.messaging._handling import MAX_ATTEMPT, copy_to, header_budget
from svckit.messaging.transport import Headers

if TYPE_CHECKING:
    import builtins
    from collections.abc import Awaitable, Callable, Collection, Mapping

    from svckit.messaging.transport import Delivery, Outgoing, Transport

__all__ = ["DeadLetter", "DeadLetters"]

_ERROR_HEADERS = (
    Headers.ERROR_TYPE,
    Headers.ERROR_MESSAGE,
    Headers.ERROR_TRACEBACK,
    Headers.DEAD_LETTERED_AT,
    Headers.DROPPED_HEADERS,
    Headers.DROPPED_PROPERTIES,
    Headers.TRUNCATED_HEADERS,
    "x-death",
)
#: The longest text a `DeadLetter` field holds, in characters.
TEXT_LIMIT = 4000


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
        """Read the dead-letter headers of a delivery (or of a message a broker holds).

        Any header may be missing or hold anything (a foreign dead letter): what cannot be
        read is shown as text, or as its default.
        """
        headers = dict(delivery.headers or {})
        death = _first_death(headers)
        routing_keys = death.get("routing-keys")
        first_key = routing_keys[0] if isinstance(routing_keys, list) and routing_keys else None
        message_id = delivery.message_id
        return cls(
            message_id=printable(message_id, 255) if message_id is not None else None,
            topic=next(
                (
                    key[:TEXT_LIMIT]
                    for key in (headers.get(Headers.ROUTING_KEY), first_key)
                    if isinstance(key, str) and key
                ),
                delivery.routing_key,
            ),
            # A message the broker dead-lettered itself (delivery limit) has only x-death.
            error_type=_text(headers.get(Headers.ERROR_TYPE) or death.get("reason") or "unknown"),
            error_message=_text(headers.get(Headers.ERROR_MESSAGE, "")),
            traceback=_text(headers.get(Headers.ERROR_TRACEBACK, "")),
            attempt=sane_int(headers.get(Headers.ATTEMPT, 1), 1, MAX_ATTEMPT) or 1,
            dead_lettered_at=_text(headers.get(Headers.DEAD_LETTERED_AT, "")),
            body=delivery.body,
            headers=dict(headers),
        )


def _text(value: object) -> str:
    if isinstance(value, str):
        return value[:TEXT_LIMIT]
    if isinstance(value, int | float):
        return str(value)[:TEXT_LIMIT]
    # bytes (text that was not UTF-8) shown with escapes; anything else by its type.
    return printable(value, TEXT_LIMIT)


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
        """Read up to ``limit`` dead letters, oldest first, leaving them in place.

        The whole queue goes round once (see the module's docstring), so reading costs
        a publish per dead letter, not only per dead letter returned.
        """
        found: builtins.list[DeadLetter] = []

        async def read(delivery: Delivery) -> bool:
            if len(found) < limit:
                found.append(DeadLetter.from_delivery(delivery))
            return False

        await self._go_round(read)
        return found

    async def show(self, message_id: str, *, limit: int = 10_000) -> DeadLetter | None:
        """The dead letter with ``message_id`` (among the first ``limit``), or None."""
        found: builtins.list[DeadLetter] = []
        seen = 0

        async def read(delivery: Delivery) -> bool:
            nonlocal seen
            seen += 1
            if not found and seen <= limit and delivery.message_id == message_id:
                found.append(DeadLetter.from_delivery(delivery))
            return False

        await self._go_round(read)
        return found[0] if found else None

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
        replayed = 0
        seen = 0

        async def send(delivery: Delivery) -> bool:
            nonlocal replayed, seen
            seen += 1
            if seen > limit or (message_ids is not None and delivery.message_id not in message_ids):
                return False
            await self.transport.publish("", self._replayed(delivery), mandatory=True)
            replayed += 1
            return True

        await self._go_round(send)
        return replayed

    async def purge(self) -> int:
        """Delete every dead letter; return how many."""
        return await self.transport.purge(self.dead_letter_queue)

    async def _go_round(self, visit: Callable[[Delivery], Awaitable[bool]]) -> None:
        """Take each dead letter that is there now, once, oldest first.

        ``visit`` returns True when it published the letter elsewhere; otherwise an
        identical copy goes to the tail of the queue. The letter is acknowledged once
        the broker confirmed either, so a failure at any point loses nothing (at worst
        a dead letter is there twice).
        """
        for _ in range(await self.count()):
            delivery = await self.transport.get(self.dead_letter_queue)
            if delivery is None:
                return
            if not await visit(delivery):
                await self.transport.publish("", self._kept(delivery), mandatory=True)
            await delivery.ack()

    def _kept(self, delivery: Delivery) -> Outgoing:
        # svckit's own copy rules (an expiration or foreign user id kept in headers, what
        # cannot be sent left out and named): for a letter svckit wrote, an identical copy.
        # The room of a dead letter's note too, so that going round never cuts a header.
        budget = header_budget(self.transport, extra=2048)
        return copy_to(delivery, self.dead_letter_queue, {}, budget=budget)

    def _replayed(self, delivery: Delivery) -> Outgoing:
        replays = sane_int(delivery.headers.get(Headers.REPLAYED, 0), 0, 10**9) or 0
        own = {
            Headers.ATTEMPT: 1,
            Headers.REPLAYED: replays + 1,
            Headers.ROUTING_KEY: _text(
                delivery.headers.get(Headers.ROUTING_KEY) or delivery.routing_key
            )[:255],
        }
        outgoing = copy_to(delivery, self.queue, own, budget=header_budget(self.transport))
        for name in _ERROR_HEADERS:
            outgoing.headers.pop(name, None)
        return outgoing
