"""The analytics consumer counts every message per hour and per user; readers see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from examples.media_worker.analytics import AnalyticsReader, hour_key, record, user_id_of
from examples.media_worker.messages import ProcessMedia, UserCreated, UserUpdated
from examples.media_worker.storage import submit
from svckit.cache import Cache
from tests.examples.media_worker._images import jpeg

if TYPE_CHECKING:
    from tests.examples.media_worker._support import StartWorker


async def test_every_message_is_counted_per_hour_and_per_user(start_worker: StartWorker) -> None:
    harness = await start_worker()
    worker = harness.service
    await harness.publish(UserCreated(user_id=1, email="ada@example.com"))
    await harness.publish(UserCreated(user_id=2, email="alan@example.com"))
    await harness.publish(UserUpdated(user_id=1, email="ada@example.org", changed=("email",)))
    await submit(worker.store, worker.bus, jpeg(), user_id=1)
    await harness.wait_idle()

    hours = {
        out.timestamp.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        for out in harness.messages
        if out.routing_key != "" and out.timestamp is not None
    }
    reader = AnalyticsReader(worker.counters)
    counted: dict[str, int] = {}
    for hour in hours:
        for topic, count in (await reader.hour(hour)).items():
            counted[topic] = counted.get(topic, 0) + count
    assert counted == {
        "user.created": 2,
        "user.updated": 1,
        "media.process": 1,
        "media.processed": 1,
    }
    assert await reader.user(1) == {
        "user.created": 1,
        "user.updated": 1,
        "media.process": 1,
        "media.processed": 1,
    }
    assert await reader.user(2) == {"user.created": 1}
    assert harness.dead_letters() == []


async def test_a_duplicated_message_is_counted_once(start_worker: StartWorker) -> None:
    harness = await start_worker()
    event = UserCreated(user_id=5, email="eve@example.com")
    await harness.publish(event, message_id="same")
    await harness.publish(event, message_id="same")
    await harness.wait_idle()
    assert await AnalyticsReader(harness.service.counters).user(5) == {"user.created": 1}


async def test_a_reader_elsewhere_sees_the_counters_in_the_shared_namespace(
    start_worker: StartWorker,
) -> None:
    harness = await start_worker(analytics_namespace="stats")
    await harness.publish(ProcessMedia(media_id="m1", user_id=9))
    await harness.wait_idle()
    # Another service's reader: its own Cache object on the same backend and namespace.
    reader = AnalyticsReader(Cache(harness.service.cache.backend, namespace="stats"))
    assert await reader.user(9) == {"media.process": 1, "media.failed": 1}  # m1 is not stored


async def test_hours_are_read_over_a_range_and_counted_by_publish_time() -> None:
    async with Cache.from_url("memory://", namespace="analytics") as cache:
        ten = datetime(2025, 3, 1, 10, 59, tzinfo=UTC)
        await record(cache, "user.created", at=ten, user_id=1)
        await record(cache, "user.created", at=ten + timedelta(minutes=2), user_id=1)
        await record(cache, "user.updated", at=ten + timedelta(hours=2))
        reader = AnalyticsReader(cache)
        assert await reader.hours(ten - timedelta(hours=1), ten + timedelta(hours=3)) == {
            datetime(2025, 3, 1, 10, tzinfo=UTC): {"user.created": 1},
            datetime(2025, 3, 1, 11, tzinfo=UTC): {"user.created": 1},
            datetime(2025, 3, 1, 12, tzinfo=UTC): {"user.updated": 1},
        }
        assert await reader.user(1) == {"user.created": 2}
        with pytest.raises(ValueError, match="at most"):
            await reader.hours(ten, ten + timedelta(days=60))


def test_an_hour_is_keyed_in_utc_and_a_naive_time_is_utc() -> None:
    summer_in_paris = timezone(timedelta(hours=2))
    assert hour_key(datetime(2025, 7, 1, 1, 30, tzinfo=summer_in_paris)) == "hour:2025-06-30T23"
    naive = datetime(2025, 3, 1, 10, 30)  # noqa: DTZ001 - as AMQP timestamps arrive
    assert hour_key(naive) == "hour:2025-03-01T10"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"user_id": 7}', 7),
        (b'{"user_id": "u-7"}', "u-7"),
        (b'{"user_id": true}', None),
        (b'{"user_id": null}', None),
        (b"[1, 2]", None),
        (b"not json", None),
        (b'{"user_id": "' + b"x" * 100 + b'"}', None),
    ],
)
def test_the_user_of_a_message_is_read_from_its_body(body: bytes, expected: object) -> None:
    assert user_id_of(body) == expected
