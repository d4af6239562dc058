"""`ServiceHarness.publish_raw`: bodies and properties no well-behaved publisher sends."""

from __future__ import annotations

import pytest

from svckit import LifecycleError
from svckit.messaging import Headers
from svckit.testing import ServiceHarness
from tests.worker.sample_services import MediaUploaded, ThumbnailReady, Thumbnails

DLQ = "thumbs.make_thumbnail.dlq"


async def test_a_body_that_is_not_json_ends_in_the_dead_letters() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        message_id = await harness.publish_raw("media.uploaded", b'{"key": ')
        await harness.wait_idle()

        [letter] = harness.dead_letters("make_thumbnail")
        assert letter.message_id == message_id
        assert letter.body == b'{"key": '
        assert (letter.attempt, letter.error_type) == (1, "svckit.core.errors.DecodeError")
        assert harness.published(ThumbnailReady) == []


async def test_a_body_of_the_wrong_shape_ends_in_the_dead_letters_with_the_reason() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        await harness.publish_raw("media.uploaded", b'{"key": 7}')
        await harness.wait_idle()

        [letter] = harness.dead_letters("make_thumbnail")
        assert letter.error_type == "svckit.core.errors.DecodeError"
        # Where the body is wrong, not what it holds: the values may be personal data.
        assert letter.error_message.startswith("1 validation error(s): key")
        assert "7" not in letter.error_message


async def test_the_properties_are_sent_as_given_and_nothing_is_added() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        returned = await harness.publish_raw(
            "media.uploaded",
            b"\x1f\x8b not really gzip",
            headers={"x-origin": "fuzzer"},
            content_type="application/octet-stream",
            content_encoding="gzip",
            message_id="poison-1",
        )
        await harness.wait_idle()

        [sent] = [m for m in harness.messages if m.routing_key == "media.uploaded"]
        [kept] = harness.broker.messages(DLQ)

    assert returned == "poison-1"
    assert (sent.message_id, sent.type, sent.headers) == (
        "poison-1",
        "media.uploaded",
        {"x-origin": "fuzzer"},
    )
    assert (sent.content_type, sent.content_encoding) == ("application/octet-stream", "gzip")
    assert Headers.SCHEMA not in sent.headers
    assert "traceparent" not in sent.headers
    # The dead letter keeps the body, the id and the headers that arrived.
    assert (kept.body, kept.message_id) == (b"\x1f\x8b not really gzip", "poison-1")
    assert kept.headers["x-origin"] == "fuzzer"


async def test_published_leaves_raw_messages_out_and_still_reads_the_real_ones() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        await harness.publish_raw("media.thumbnail_ready", b"not a thumbnail")
        await harness.publish(MediaUploaded(key="a"))
        await harness.wait_idle()

        assert harness.published(ThumbnailReady) == [ThumbnailReady(key="a", size=128)]


async def test_publishing_before_the_harness_runs_is_refused() -> None:
    harness = ServiceHarness(Thumbnails)
    with pytest.raises(LifecycleError, match="start the harness"):
        await harness.publish_raw("media.uploaded", b"{}")
