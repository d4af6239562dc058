"""A service that publishes through the outbox, for the outbox tests (and ``svckit run``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from svckit.core.retry import RetryPolicy
from svckit.messaging import Command, Event, consumer
from svckit.worker import WorkerService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

metadata = sa.MetaData()
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
)


class OrderPlaced(Event, topic="outboxtest.order.placed"):
    order_id: int


class ShipOrder(Command, topic="outboxtest.ship"):
    order_id: int


class Shop(WorkerService):
    """Writes orders and publishes ``OrderPlaced`` through its outbox."""

    uses_outbox = True
    metadata = metadata
    outbox_retry = RetryPolicy(attempts=2, initial_delay=0.01, max_delay=0.02)

    async def place(self, order_id: int, *, fail: bool = False) -> str:
        """Insert the order and write its event in one transaction."""
        async with self.db.transaction() as session:
            await session.execute(sa.insert(orders).values(id=order_id))
            message_id = await self.outbox.publish(
                OrderPlaced(order_id=order_id), key=f"order:{order_id}"
            )
            if fail:
                raise RuntimeError("the transaction rolls back")
        return message_id


class PlaceOrder(Command, topic="outboxtest.place"):
    order_id: int


class Placer(Shop):
    """Places the orders it is asked to: ``svckit run tests.db._outbox_services:Placer``."""

    @consumer()
    async def on_place(self, command: PlaceOrder, *, session: AsyncSession) -> None:
        # The outbox row joins the handler's transaction: both commit, or neither.
        await session.execute(sa.insert(orders).values(id=command.order_id))
        await self.outbox.publish(OrderPlaced(order_id=command.order_id))
