"""Test the poison path: publish bodies that no well-behaved publisher would send.

Run it with ``pytest testing_raw_body_test.py`` (``asyncio_mode = "auto"``), next to
``first_service.py``.
"""

from __future__ import annotations

from first_service import Greeter, UserGreeted

from svckit.testing import ServiceHarness


# --8<-- [start:not-json]
async def test_a_body_that_is_not_json_goes_to_the_dead_letters() -> None:
    async with ServiceHarness(Greeter) as harness:
        message_id = await harness.publish_raw("user.signed_up", b'{"user_id": 3, "name": ')
        await harness.wait_idle()

    [letter] = harness.dead_letters("greet")
    assert letter.message_id == message_id
    assert letter.body == b'{"user_id": 3, "name": '  # kept as it came
    assert (letter.attempt, letter.error_type) == (1, "svckit.core.errors.DecodeError")
    assert harness.published(UserGreeted) == []


# --8<-- [end:not-json]


# --8<-- [start:properties]
async def test_a_foreign_publisher_with_its_own_headers() -> None:
    async with ServiceHarness(Greeter) as harness:
        await harness.publish_raw(
            "user.signed_up",
            b"\x00\x01\x02",
            content_type="application/octet-stream",
            headers={"x-origin": "legacy-crm"},
            message_id="crm-42",
        )
        await harness.wait_idle()

    [letter] = harness.dead_letters()
    assert letter.message_id == "crm-42"
    assert letter.headers["x-origin"] == "legacy-crm"
    assert letter.error_type == "svckit.core.errors.DecodeError"


# --8<-- [end:properties]
