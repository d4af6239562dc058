"""A worker with a database: its tables, a handler that takes a session, the database inbox.

Run it as is (``python docs/examples/database_service.py``): it runs the service on the
embedded broker and a SQLite file of its own, publishes a few orders (one of them twice)
and checks what was written.
"""

from __future__ import annotations

import asyncio

# --8<-- [start:models]
from typing import TYPE_CHECKING

from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svckit.messaging import Event, consumer
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
    total: Mapped[int]  # in cents


# --8<-- [end:models]


class OrderPlaced(Event, topic="order.placed"):
    order_id: int
    customer: str
    total_cents: int


# --8<-- [start:service]
class Orders(WorkerService):
    uses_database = True  # self.db, opened with the service, checked by readiness
    metadata = Base.metadata  # its tables, for create-on-start and migrations

    @consumer(idempotent=True, inbox="database")
    async def record(self, event: OrderPlaced, *, session: AsyncSession) -> None:
        # A transaction around the call: it commits when the handler returns and rolls
        # back when it raises. With inbox="database", the "processed" mark of this
        # message commits in the same transaction.
        session.add(Order(id=event.order_id, customer=event.customer, total=event.total_cents))

    async def revenue(self) -> int:
        # Outside a handler: a unit of work of its own.
        async with self.db.transaction() as session:
            total = await session.scalar(select(func.sum(Order.total)))
        return int(total or 0)


# --8<-- [end:service]


async def main() -> None:
    # --8<-- [start:harness]
    # The harness gives a database service a throwaway SQLite file, its tables created.
    async with ServiceHarness(Orders) as harness:
        ada = OrderPlaced(order_id=1, customer="ada", total_cents=1250)
        grace = OrderPlaced(order_id=2, customer="grace", total_cents=800)
        await harness.publish(ada, message_id="order-1")
        await harness.publish(ada, message_id="order-1")  # a redelivery: skipped
        await harness.publish(grace, message_id="order-2")
        await harness.wait_idle()

        assert await harness.service.revenue() == ada.total_cents + grace.total_cents
        assert harness.dead_letters() == []
    # --8<-- [end:harness]
    print("revenue: 2050 cents from 2 orders, the duplicate skipped")


if __name__ == "__main__":
    asyncio.run(main())
