"""Per-key order through the outbox holds whatever publishes fail and are retried."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from svckit.core.errors import PublishError
from svckit.core.health import Health
from svckit.core.retry import RetryPolicy
from svckit.db import Database, Outbox
from svckit.messaging import Bus
from tests.db._outbox_services import OrderPlaced

if TYPE_CHECKING:
    from svckit.messaging.transport import Outgoing

# Retried soon, and often enough that no row fails for good; the short wait lets other
# passes run while a row of a key waits for its retry.
SOON = RetryPolicy(attempts=50, initial_delay=0.003, max_delay=0.003, jitter=0.0)


class FlakyTransport:
    """Refuses the tries it was told to refuse, while saying that the broker is up."""

    def __init__(self, refused: set[tuple[int, int]]) -> None:
        self.refused = refused
        self.tries: Counter[str] = Counter()
        self.sent: list[Outgoing] = []

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:  # noqa: ARG002
        message_id = str(message.message_id)
        self.tries[message_id] += 1
        if (int(message_id), self.tries[message_id]) in self.refused:
            raise PublishError("refused on purpose")
        await asyncio.sleep(0)  # let the other publishes of the batch interleave
        self.sent.append(message)

    async def health(self) -> Health:
        return Health.up()


async def _run(keys: list[int | None], refused: set[tuple[int, int]], batch: int) -> None:
    transport = FlakyTransport(refused)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/order.sqlite3", create_schema=True)
        bus = Bus(transport=transport)  # type: ignore[arg-type]
        # Two relays on one table, each with passes that overlap.
        first = Outbox(db, bus, retry=SOON, batch_size=batch, relay_name="first")
        second = Outbox(db, bus, retry=SOON, batch_size=batch, relay_name="second")
        async with db:
            for n, key in enumerate(keys):
                key_text = None if key is None else f"k{key}"
                await first.publish(OrderPlaced(order_id=n), key=key_text, message_id=str(n))
            async with asyncio.timeout(30):
                while (await first.backlog())[0]:
                    await asyncio.gather(
                        first.relay_once(), second.relay_once(), first.relay_once()
                    )
    assert sorted(int(str(m.message_id)) for m in transport.sent) == list(range(len(keys)))
    published: dict[str, list[int]] = defaultdict(list)
    for message in transport.sent:
        n = int(str(message.message_id))
        if keys[n] is not None:
            published[f"k{keys[n]}"].append(n)
    for name, order in published.items():
        assert order == sorted(order), f"key {name} left out of order: {order}"


@settings(max_examples=30, deadline=None)
@given(
    keys=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=25),
    refused=st.sets(st.tuples(st.integers(0, 24), st.integers(1, 3)), max_size=30),
    batch=st.integers(1, 8),
)
def test_each_key_is_published_in_the_order_written(
    keys: list[int | None], refused: set[tuple[int, int]], batch: int
) -> None:
    asyncio.run(_run(keys, refused, batch))
