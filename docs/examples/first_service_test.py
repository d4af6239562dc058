"""Tests of the first service, run with pytest (``asyncio_mode = "auto"``)."""

from __future__ import annotations

from first_service import Greeter, GreeterSettings, UserSignedUp

from svckit import Environment
from svckit.messaging import MemoryTransport


async def wait_until_handled(service: Greeter) -> None:
    """Wait until the embedded broker has delivered every message."""
    transport = service.bus.transport
    assert isinstance(transport, MemoryTransport)
    await transport.broker.wait_idle()


async def test_greets_a_new_user() -> None:
    service = Greeter(GreeterSettings(environment=Environment.TEST, greeting="Welcome"))

    async with service:  # the same lifecycle as run(), without signals
        await service.bus.publish(UserSignedUp(user_id=1, name="Ada"))
        await wait_until_handled(service)

    assert service.greeted == ["Welcome, Ada!"]


async def test_is_ready_while_running() -> None:
    service = Greeter(GreeterSettings(environment=Environment.TEST))

    async with service:
        report = await service.health_report()

    assert report.ready
    assert report.checks["bus"].status == "up"
