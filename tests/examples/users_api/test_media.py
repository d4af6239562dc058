"""Uploads by reference: size limit, sniffed type, content store, command, status, owner."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from examples.media_worker.analytics import hour_key, user_key
from examples.media_worker.messages import ProcessMedia
from examples.users_api.routes_media import sniff
from tests.examples.users_api._support import bearer, eventually, login, register

if TYPE_CHECKING:
    from examples.users_api.service import UsersApi
    from svckit.testing import ApiHarness

SAMPLE = (Path(__file__).parents[3] / "examples" / "media_worker" / "sample.jpg").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


async def _headers(api: ApiHarness[UsersApi], email: str) -> tuple[int, dict[str, str]]:
    user = await register(api.client, email)
    tokens = await login(api.client, email)
    return user["id"], bearer(tokens["access_token"])


def _file(data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
    return {"file": ("photo.jpg", data, content_type)}


def _worker_queue(api: ApiHarness[UsersApi]) -> str:
    """A queue where the media worker's would be, so that the command is routable."""
    queue = "media-worker-stand-in.process"
    api.broker.declare_queue(queue)
    api.broker.bind(api.service.bus.exchange, queue, "media.process")
    return queue


async def test_an_upload_is_stored_and_a_command_names_it(api: ApiHarness[UsersApi]) -> None:
    queue = _worker_queue(api)
    user_id, headers = await _headers(api, "ada@example.com")
    response = await api.client.post("/media", headers=headers, files=_file(SAMPLE))
    assert response.status_code == 202
    body = response.json()
    media_id = body["media_id"]
    assert body["status_url"] == f"/media/{media_id}"
    assert response.headers["location"] == body["status_url"]
    assert await api.service.media.original(media_id) == SAMPLE
    await eventually(lambda: len(api.published(ProcessMedia)) == 1)
    [command] = api.published(ProcessMedia)
    assert command.media_id == media_id
    assert command.user_id == user_id
    # The reference travels, never the bytes.
    [raw] = api.broker.messages(queue)
    assert len(raw.body) < 1000
    status = await api.client.get(body["status_url"], headers=headers)
    assert status.status_code == 200
    assert status.json()["state"] == "queued"


async def test_the_type_is_sniffed_from_the_bytes_not_the_header(
    api: ApiHarness[UsersApi],
) -> None:
    _, headers = await _headers(api, "ada@example.com")
    text = await api.client.post(
        "/media", headers=headers, files=_file(b"<html>not an image</html>", "image/jpeg")
    )
    assert text.status_code == 415
    assert text.headers["content-type"] == "application/problem+json"
    png = await api.client.post("/media", headers=headers, files=_file(PNG, "text/plain"))
    assert png.status_code == 202


def test_sniff_knows_the_worker_formats() -> None:
    assert sniff(SAMPLE[:16]) == "image/jpeg"
    assert sniff(PNG[:16]) == "image/png"
    assert sniff(b"GIF89a....") == "image/gif"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"%PDF-1.7") is None


async def test_the_size_limit_holds_while_reading(start_api: Any) -> None:
    api = await start_api(upload_max_bytes=1000)
    _, headers = await _headers(api, "ada@example.com")
    over_the_file_limit = await api.client.post(
        "/media", headers=headers, files=_file(SAMPLE[:1500])
    )
    assert over_the_file_limit.status_code == 413
    # A body past the route's limit is cut off as it is read, before any parsing.
    huge = await api.client.post("/media", headers=headers, files=_file(SAMPLE * 8))
    assert huge.status_code == 413
    assert huge.headers["content-type"] == "application/problem+json"
    assert api.published(ProcessMedia) == []


async def test_only_the_owner_reads_the_status_and_the_outputs(api: ApiHarness[UsersApi]) -> None:
    _, ada = await _headers(api, "ada@example.com")
    _, grace = await _headers(api, "grace@example.com")
    media_id = (await api.client.post("/media", headers=ada, files=_file(SAMPLE))).json()[
        "media_id"
    ]
    await api.service.media.save_outputs(
        media_id,
        thumbnail=b"\xff\xd8\xffthumb",
        compressed=b"\xff\xd8\xffsmall",
        metadata={"format": "JPEG", "width": 1, "height": 1, "mode": "RGB", "size_bytes": 1},  # type: ignore[arg-type]
    )
    for path in ("", "/thumbnail", "/compressed"):
        assert (await api.client.get(f"/media/{media_id}{path}", headers=grace)).status_code == 404
        assert (await api.client.get(f"/media/{media_id}{path}")).status_code == 401
    thumbnail = await api.client.get(f"/media/{media_id}/thumbnail", headers=ada)
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content == b"\xff\xd8\xffthumb"
    assert (await api.client.get(f"/media/{media_id}", headers=ada)).json()["state"] == "done"
    assert (await api.client.get(f"/media/{media_id}/original", headers=ada)).status_code == 422
    assert (await api.client.get("/media/..%2Fetc/thumbnail", headers=ada)).status_code in (
        404,
        422,
    )


async def test_stats_read_the_worker_counters(api: ApiHarness[UsersApi]) -> None:
    user_id, headers = await _headers(api, "ada@example.com")
    await api.service.counters.hincr(hour_key(datetime.now(UTC)), "media.processed", 2)
    await api.service.counters.hincr(user_key(user_id), "media.processed")
    stats = await api.client.get("/stats", headers=headers)
    assert stats.status_code == 200
    assert stats.json()["this_hour"]["media.processed"] == 2
    assert stats.json()["mine"] == {"media.processed": 1}
