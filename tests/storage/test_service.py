"""The content store in a service: settings, the chassis's ``storage``, handlers, readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from svckit import ConfigurationError
from svckit.messaging import Command
from svckit.storage import ContentStore, FileStorage, MemoryStorage, forget_memory_storage
from svckit.testing import ServiceHarness
from svckit.worker import ConsumerRouter, WorkerService, WorkerSettings, consumer

if TYPE_CHECKING:
    from pathlib import Path


class Resize(Command, topic="image.resize"):
    key: str


router = ConsumerRouter()


@router.consumer("image.resize")
async def resize(command: Resize, *, storage: ContentStore) -> None:
    data = await storage.get(command.key)
    assert data is not None
    await storage.put(command.key + ".small", data[:2])


class Resizer(WorkerService):
    routers = (router,)

    @consumer("image.resize")
    async def audit(self, command: Resize) -> None:
        await self.storage.put(command.key + ".seen", b"1")


def test_the_settings_default_to_the_shared_memory_store() -> None:
    settings = WorkerSettings(_env_file=None)
    assert settings.storage_url.get_secret_value() == "memory://"
    assert settings.storage_max_size == 20 * 1024 * 1024
    assert settings.storage_ttl is None


def test_the_store_is_made_from_the_settings(tmp_path: Path) -> None:
    service = Resizer(
        WorkerSettings(
            _env_file=None,
            storage_url=f"file://{tmp_path}",
            storage_max_size=1234,
            storage_ttl=60,
        )
    )
    assert isinstance(service.storage.backend, FileStorage)
    assert (service.storage.max_size, service.storage.ttl) == (1234, 60)
    # Not namespaced by service: the API puts what the worker reads.
    assert service.storage.backend.root == tmp_path


def test_production_refuses_the_memory_store_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SVCKIT_ENVIRONMENT", "production")
    monkeypatch.setenv("SVCKIT_SERVICE_NAME", "resizer")
    monkeypatch.setenv("SVCKIT_BUS_URL", "amqp://u:p@rabbit/")
    monkeypatch.setenv("SVCKIT_CACHE_URL", "redis://redis:6379/0")
    with pytest.raises(ConfigurationError, match="SVCKIT_STORAGE_URL points at the embedded"):
        WorkerSettings(_env_file=None)
    monkeypatch.setenv("SVCKIT_STORAGE_URL", f"file://{tmp_path}")
    assert WorkerSettings(_env_file=None).is_production


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("s3://key:hunter2@bucket", "unsupported storage URL scheme 's3'"),
        ("redis://:hunter2@/0", "names no host"),
        ("/var/lib/content", "not a storage URL"),
    ],
)
def test_a_storage_url_no_backend_reads_is_refused_without_echoing_it(
    url: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        WorkerSettings(_env_file=None, storage_url=url)
    assert "hunter2" not in str(caught.value)


async def test_handlers_get_the_store_by_keyword_and_services_share_it() -> None:
    async with ServiceHarness(Resizer) as harness:
        storage = harness.storage
        assert [r.name for r in harness.service.resources()] == ["cache", "storage", "bus"]
        await storage.put("uploads/1", b"abcdef")
        await harness.publish(Resize(key="uploads/1"))
        await harness.wait_idle()
        assert await storage.get("uploads/1.small") == b"ab"
        assert await storage.get("uploads/1.seen") == b"1"
        report = await harness.service.health_report()
        assert report.checks["storage"].status == "up"


async def test_each_harness_has_a_store_of_its_own_that_goes_with_it() -> None:
    async with ServiceHarness(Resizer) as first, ServiceHarness(Resizer) as second:
        await first.storage.put("k", b"first")
        assert await second.storage.get("k") is None
        backend = first.storage.backend
        assert isinstance(backend, MemoryStorage)
    again = ContentStore.from_url(backend.describe())
    assert again.backend is not backend, "the harness dropped its store"
    forget_memory_storage(backend.describe())


async def test_a_store_that_is_down_makes_the_service_not_ready(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    service = Resizer(WorkerSettings(_env_file=None, storage_url=f"file://{blocker}/store"))
    async with ServiceHarness(service):
        report = await service.health_report()
        assert report.checks["storage"].status == "down"
        assert not report.ready
