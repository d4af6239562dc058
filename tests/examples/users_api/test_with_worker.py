"""The users API and the media worker on one broker, content store and cache."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from examples.media_worker import MediaWorker
from examples.media_worker.notifications import MemoryNotifier
from svckit.cache import Cache
from svckit.testing import ServiceHarness
from tests.examples.media_worker._support import worker_settings
from tests.examples.users_api._support import bearer, eventually, login, register

if TYPE_CHECKING:
    from tests.examples.users_api._support import StartApi

SAMPLE = (Path(__file__).parents[3] / "examples" / "media_worker" / "sample.jpg").read_bytes()


async def test_register_upload_process_and_download(start_api: StartApi) -> None:
    api = await start_api()
    shared = api.service.settings
    notifier = MemoryNotifier()
    worker = MediaWorker(
        worker_settings(
            bus_url=shared.bus_url.get_secret_value(),
            storage_url=shared.storage_url.get_secret_value(),
        ),
        cache=Cache(api.service.cache.backend, namespace="media-worker"),
        notifier=notifier,
    )
    async with ServiceHarness(worker) as media:
        user = await register(api.client, "ada@example.com", name="Ada")
        headers = bearer((await login(api.client, "ada@example.com"))["access_token"])
        uploaded = await api.client.post(
            "/media", headers=headers, files={"file": ("photo.jpg", SAMPLE, "image/jpeg")}
        )
        assert uploaded.status_code == 202
        status_url = uploaded.json()["status_url"]

        async def done() -> bool:
            status = await api.client.get(status_url, headers=headers)
            return bool(status.json()["state"] == "done")

        await eventually(done)
        await media.wait_idle()
        thumbnail = await api.client.get(f"{status_url}/thumbnail", headers=headers)
        assert thumbnail.status_code == 200
        assert thumbnail.content.startswith(b"\xff\xd8\xff")
        assert len(thumbnail.content) < len(SAMPLE)
        compressed = await api.client.get(f"{status_url}/compressed", headers=headers)
        assert compressed.status_code == 200
        await eventually(lambda: any(n.kind == "welcome" for _, n in notifier.sent))
        await media.wait_idle()
        welcomes = [n for _, n in notifier.sent if n.kind == "welcome"]
        assert len(welcomes) == 1
        stats = (await api.client.get("/stats", headers=headers)).json()
        assert stats["mine"]["media.process"] == 1
        assert stats["this_hour"]["user.created"] == 1
        assert user["id"] > 0
