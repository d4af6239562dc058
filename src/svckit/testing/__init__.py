"""Testing tools: run any service in-process on the embedded broker and cache.

::

    async def test_thumbnails() -> None:
        async with ServiceHarness(Thumbnails) as harness:
            await harness.publish(MediaUploaded(key="photo-1"))
            await harness.wait_idle()
            assert harness.published(ThumbnailReady) == [ThumbnailReady(key="photo-1")]
            assert harness.dead_letters() == []

``harness.publish_raw(topic, body)`` sends bytes exactly as given, to test what a
consumer does with a body that is not a valid message (it ends in the dead letters).

With pytest, the ``svckit_harness`` fixture (installed with svckit as a pytest plugin)
starts harnesses and stops them after the test.
"""

from svckit.testing.harness import HarnessFactory, ServiceHarness

__all__ = ["HarnessFactory", "ServiceHarness"]
