"""The media.process consumer through the harness: statuses, stored outputs, events."""

from __future__ import annotations

import pytest

from examples.media_worker.imaging import process_image
from examples.media_worker.messages import FailureCode, MediaFailed, MediaProcessed, ProcessMedia
from examples.media_worker.storage import MediaState, submit
from tests.examples.media_worker._images import decoded, jpeg, png_header, sideways_jpeg
from tests.examples.media_worker._support import GatedPool, StartWorker, eventually


async def test_an_image_goes_from_queued_through_processing_to_done(
    start_worker: StartWorker,
) -> None:
    pool = GatedPool()
    pool.gate.clear()
    harness = await start_worker(images=pool)
    store = harness.service.store
    data = jpeg((640, 480))

    media_id = await store.put_original(data)
    queued = await store.status(media_id)
    assert queued is not None
    assert queued.state is MediaState.QUEUED

    await harness.publish(ProcessMedia(media_id=media_id))

    async def processing() -> bool:
        status = await store.status(media_id)
        return status is not None and status.state is MediaState.PROCESSING

    await eventually(processing)
    pool.gate.set()
    await harness.wait_idle()

    done = await store.status(media_id)
    assert done is not None
    assert done.state is MediaState.DONE
    assert done.updated_at > queued.updated_at
    assert done.reason is None
    assert done.metadata is not None
    assert (done.metadata.width, done.metadata.height) == (640, 480)


async def test_the_outputs_are_stored_byte_for_byte_and_named_by_the_event(
    start_worker: StartWorker,
) -> None:
    harness = await start_worker(thumbnail_size=100)
    worker = harness.service
    data = sideways_jpeg((300, 400))
    media_id = await submit(
        worker.store, worker.bus, data, user_id=7, filename="me.jpg", context={"chat_id": "42"}
    )
    await harness.wait_idle()

    [event] = harness.published(MediaProcessed)
    expected = process_image(data, worker.settings.image_options)
    assert event.media_id == media_id
    assert event.user_id == 7
    assert event.context == {"chat_id": "42"}
    assert event.metadata == expected.metadata
    # The event names the keys: any service reads the outputs from the content store.
    assert await worker.storage.get(event.thumbnail_key) == expected.thumbnail
    assert await worker.storage.get(event.compressed_key) == expected.compressed
    assert await worker.store.thumbnail(media_id) == expected.thumbnail
    assert decoded(expected.thumbnail).size == (75, 100)  # upright: EXIF orientation applied
    status = await worker.store.status(media_id)
    assert status is not None
    assert (status.thumbnail_key, status.compressed_key) == (
        event.thumbnail_key,
        event.compressed_key,
    )
    assert harness.published(MediaFailed) == []
    assert harness.dead_letters() == []


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        pytest.param(
            jpeg((300, 200))[:3000],
            FailureCode.TRUNCATED,
            "the image data ends early",
            id="truncated",
        ),
        pytest.param(
            b"%PDF-1.7 not an image", FailureCode.NOT_AN_IMAGE, "not an image", id="non-image"
        ),
        pytest.param(png_header(30_000, 30_000), FailureCode.OVERSIZED, "decompression", id="bomb"),
        pytest.param(jpeg((800, 600)), FailureCode.OVERSIZED, "800x600", id="over-max-pixels"),
    ],
)
async def test_content_that_cannot_be_processed_fails_once_with_its_reason(
    start_worker: StartWorker, content: bytes, code: FailureCode, reason: str
) -> None:
    pool = GatedPool()
    harness = await start_worker(images=pool, max_pixels=100_000)
    worker = harness.service
    media_id = await submit(worker.store, worker.bus, content, user_id=3)
    await harness.wait_idle()

    status = await worker.store.status(media_id)
    assert status is not None
    assert status.state is MediaState.FAILED
    assert status.code is code
    assert status.reason is not None
    assert reason in status.reason
    [event] = harness.published(MediaFailed)
    assert (event.media_id, event.user_id, event.code) == (media_id, 3, code)
    assert event.reason == status.reason
    assert pool.calls == 1  # not retried
    assert harness.dead_letters() == []
    assert harness.published(MediaProcessed) == []
    assert await worker.store.thumbnail(media_id) is None


async def test_a_missing_original_fails_as_missing(start_worker: StartWorker) -> None:
    harness = await start_worker()
    await harness.publish(ProcessMedia(media_id="expired-long-ago"))
    await harness.wait_idle()
    status = await harness.service.store.status("expired-long-ago")
    assert status is not None
    assert status.state is MediaState.FAILED
    assert status.code is FailureCode.MISSING
    [event] = harness.published(MediaFailed)
    assert event.code is FailureCode.MISSING
    assert "not in storage" in event.reason
    assert harness.dead_letters() == []


async def test_a_failure_of_the_worker_itself_is_retried(start_worker: StartWorker) -> None:
    pool = GatedPool(failures=1)
    harness = await start_worker(images=pool)
    worker = harness.service
    media_id = await submit(worker.store, worker.bus, jpeg())
    await harness.wait_idle()
    assert pool.calls == 2
    status = await worker.store.status(media_id)
    assert status is not None
    assert status.state is MediaState.DONE
    assert [e.media_id for e in harness.published(MediaProcessed)] == [media_id]
    assert harness.dead_letters() == []


async def test_a_duplicated_command_is_processed_once(start_worker: StartWorker) -> None:
    pool = GatedPool()
    harness = await start_worker(images=pool)
    media_id = await harness.service.store.put_original(jpeg())
    command = ProcessMedia(media_id=media_id)
    await harness.publish(command, message_id="upload-1")
    await harness.wait_idle()
    await harness.publish(command, message_id="upload-1")
    await harness.wait_idle()
    assert pool.calls == 1
    assert len(harness.published(MediaProcessed)) == 1


async def test_the_outcome_keeps_the_commands_correlation_id(start_worker: StartWorker) -> None:
    harness = await start_worker()
    media_id = await harness.service.store.put_original(jpeg())
    await harness.publish(ProcessMedia(media_id=media_id), correlation_id="req-9")
    await harness.wait_idle()
    [outcome] = [m for m in harness.messages if m.routing_key == MediaProcessed.topic]
    assert outcome.correlation_id == "req-9"
