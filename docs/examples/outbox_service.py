"""A service that publishes through the transactional outbox.

Run it as is (``python docs/examples/outbox_service.py``): it runs the service on the
embedded broker and a SQLite file of its own, places three orders (the third one rolls
back) and checks that only the events of the first two were published.
"""

from __future__ import annotations

import asyncio
import contextlib

# --8<-- [start:service]
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svckit.messaging import Command, Event, consumer
from svckit.testing import ServiceHarness
from svckit.worker import WorkerService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(100))


class PlaceOrder(Command, topic="order.place"):
    order_id: int
    customer: str


class OrderPlaced(Event, topic="order.placed"):
    order_id: int
    customer: str


class Orders(WorkerService):
    uses_outbox = True  # self.outbox (and self.db): its relay runs with the service
    metadata = Base.metadata

    @consumer()
    async def place(self, command: PlaceOrder, *, session: AsyncSession) -> None:
        session.add(Order(id=command.order_id, customer=command.customer))
        # Written in the handler's transaction: published after it commits, never if
        # it rolls back. The key keeps one customer's events in order.
        await self.outbox.publish(
            OrderPlaced(order_id=command.order_id, customer=command.customer),
            key=f"customer:{command.customer}",
        )


# --8<-- [end:service]


async def main() -> None:
    # --8<-- [start:outside]
    async with ServiceHarness(Orders) as harness:
        service = harness.service
        # Outside a handler: the outbox joins the task's transaction.
        async with service.db.transaction() as session:
            session.add(Order(id=1, customer="ada"))
            await service.outbox.publish(OrderPlaced(order_id=1, customer="ada"))
        # A transaction that rolls back publishes nothing.
        with contextlib.suppress(PermissionError):
            async with service.db.transaction() as session:
                session.add(Order(id=3, customer="mallory"))
                await service.outbox.publish(OrderPlaced(order_id=3, customer="mallory"))
                raise PermissionError("no orders for mallory")
        # --8<-- [end:outside]
        await harness.publish(PlaceOrder(order_id=2, customer="grace"))
        await harness.wait_idle()  # the outbox relayed everything, and it was consumed

        placed = sorted(event.order_id for event in harness.published(OrderPlaced))
        assert placed == [1, 2], placed
        assert (await service.outbox.backlog())[0] == 0
    print("published: order 1 and order 2; order 3 rolled back and published nothing")


if __name__ == "__main__":
    asyncio.run(main())
