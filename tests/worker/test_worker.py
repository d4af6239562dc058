"""WorkerService: consumers as methods and in routers, tested with the harness."""

from __future__ import annotations

import pytest

from svckit.testing import HarnessFactory, ServiceHarness
from svckit.worker import ConsumerRouter, WorkerService, consumer
from tests.worker.sample_services import MediaUploaded, ThumbnailReady, Thumbnails


async def test_a_method_consumer_publishes_and_a_router_consumer_counts() -> None:
    async with ServiceHarness(Thumbnails, thumbnail_size=64) as harness:
        await harness.publish(MediaUploaded(key="cat.jpg"))
        await harness.wait_idle()
        assert harness.published(ThumbnailReady) == [ThumbnailReady(key="cat.jpg", size=64)]
        counts = await harness.cache.hgetall("events")
        assert counts == {"media.uploaded": 1, "media.thumbnail_ready": 1}
        assert harness.dead_letters() == []
        names = [c.name for c in harness.service.bus.consumers]
    assert names == ["thumbs.make_thumbnail", "thumbs.stats_count"]


async def test_a_failing_message_ends_in_the_harness_dead_letters() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        await harness.publish(MediaUploaded(key="broken"))
        await harness.wait_idle()
        [letter] = harness.dead_letters("make_thumbnail")
        assert letter.error_message == "cannot decode broken"
        assert letter.attempt == 2
        assert harness.dead_letters("stats_count") == []
        assert harness.published(ThumbnailReady) == []


async def test_the_pytest_plugin_fixture_runs_the_service(
    svckit_harness: HarnessFactory,
) -> None:
    harness = await svckit_harness(Thumbnails)
    assert harness.service.ready
    await harness.publish(MediaUploaded(key="a"))
    await harness.wait_idle()
    assert [t.key for t in harness.published(ThumbnailReady)] == ["a"]


async def test_a_harness_drops_its_broker_when_done() -> None:
    from svckit.messaging import memory  # noqa: PLC0415

    harness = ServiceHarness(Thumbnails)
    url = harness.service.settings.bus_url.get_secret_value()
    async with harness:
        assert memory.broker_for(url) is harness.broker
    assert memory.broker_for(url) is not harness.broker


async def test_each_harness_has_its_own_broker() -> None:
    async with ServiceHarness(Thumbnails) as one, ServiceHarness(Thumbnails) as two:
        await one.publish(MediaUploaded(key="only-in-one"))
        await one.wait_idle()
        await two.wait_idle()
        assert len(one.published(ThumbnailReady)) == 1
        assert two.published(ThumbnailReady) == []


async def test_a_handler_asking_for_something_the_service_lacks_fails_at_start() -> None:
    router = ConsumerRouter()

    @router.consumer("x.#")
    async def needs_db(body: bytes, *, database: object) -> None:
        del body, database

    class Broken(WorkerService):
        settings_class = Thumbnails.resolve_settings_class()
        routers = (router,)

    with pytest.raises(TypeError, match="'database'"):
        ServiceHarness(Broken)


async def test_two_services_in_one_process_talk_over_the_shared_broker() -> None:
    class Auditor(WorkerService):
        settings_class = Thumbnails.resolve_settings_class()
        seen: list[str]

        @consumer()
        async def audit(self, ready: ThumbnailReady) -> None:
            self.seen.append(ready.key)

    thumbs = ServiceHarness(Thumbnails)
    url = thumbs.service.settings.bus_url.get_secret_value()
    auditor = Auditor(Auditor.resolve_settings_class()(service_name="auditor", bus_url=url))
    auditor.seen = []
    async with thumbs, ServiceHarness(auditor):
        await thumbs.publish(MediaUploaded(key="dog.png"))
        await thumbs.wait_idle()
    assert auditor.seen == ["dog.png"]
