"""Tests of the thumbnails worker on the embedded broker: no RabbitMQ needed."""

# --8<-- [start:imports]
from svckit.testing import HarnessFactory, ServiceHarness

from thumbs.messages import ImageUploaded, ThumbnailReady
from thumbs.service import Thumbnails

# --8<-- [end:imports]


# --8<-- [start:harness]
async def test_an_uploaded_image_gets_a_thumbnail() -> None:
    async with ServiceHarness(Thumbnails, thumbnail_size=256) as harness:
        await harness.publish(ImageUploaded(image_id="photo-1", width=4000, height=3000))
        await harness.wait_idle()

        assert harness.published(ThumbnailReady) == [
            ThumbnailReady(image_id="photo-1", width=256, height=192),
        ]
        assert harness.dead_letters() == []


# --8<-- [end:harness]


# --8<-- [start:dead-letters]
async def test_an_oversized_image_goes_to_dead_letters() -> None:
    async with ServiceHarness(Thumbnails, max_pixels=1_000_000) as harness:
        await harness.publish(ImageUploaded(image_id="huge", width=2000, height=2000))
        await harness.wait_idle()

        assert harness.published(ThumbnailReady) == []
        [letter] = harness.dead_letters("make_thumbnail")
        assert letter.error_type == "svckit.messaging.control.Reject"
        assert letter.error_message == "2000x2000 is over 1000000 pixels"


# --8<-- [end:dead-letters]


# --8<-- [start:fixture]
async def test_the_size_comes_from_the_settings(svckit_harness: HarnessFactory) -> None:
    harness = await svckit_harness(Thumbnails, thumbnail_size=64)
    await harness.publish(ImageUploaded(image_id="photo-2", width=300, height=600))
    await harness.wait_idle()

    [thumbnail] = harness.published(ThumbnailReady)
    assert (thumbnail.width, thumbnail.height) == (32, 64)


# --8<-- [end:fixture]
