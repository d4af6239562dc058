"""Tests of the first service, run with pytest (``asyncio_mode = "auto"``)."""

from __future__ import annotations

from first_service import Greeter, UserGreeted, UserSignedUp

from svckit.messaging import Event
from svckit.testing import ServiceHarness


async def test_greets_a_new_user() -> None:
    async with ServiceHarness(Greeter, greeting="Welcome") as harness:
        await harness.publish(UserSignedUp(user_id=1, name="Ada"))
        await harness.wait_idle()

    assert harness.published(UserGreeted) == [UserGreeted(user_id=1, greeting="Welcome, Ada!")]
    assert harness.dead_letters() == []


class MalformedSignUp(Event, topic="user.signed_up"):
    """What a buggy publisher might send: a sign-up without a name."""

    user_id: int


async def test_a_malformed_sign_up_goes_to_the_dead_letters() -> None:
    async with ServiceHarness(Greeter) as harness:
        await harness.publish(MalformedSignUp(user_id=2))
        await harness.wait_idle()

    # A message that cannot be read is dead-lettered at once, with the reason.
    [letter] = harness.dead_letters()
    assert (letter.attempt, letter.error_type) == (1, "svckit.core.errors.DecodeError")
    assert letter.error_message.startswith("1 validation error(s): name")
    assert harness.published(UserGreeted) == []


async def test_is_ready_while_running() -> None:
    async with ServiceHarness(Greeter) as harness:
        report = await harness.service.health_report()

    assert report.ready
    assert set(report.checks) == {"cache", "storage", "bus"}
