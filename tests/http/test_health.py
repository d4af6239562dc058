"""Health: up while open, down when closed, degraded when the configured probe fails."""

from __future__ import annotations

from typing import TYPE_CHECKING

from svckit import HealthStatus, Resource, Service, ServiceSettings
from svckit.http import HttpClient

if TYPE_CHECKING:
    from tests.http._server import RecordingServer


async def test_up_while_open_and_down_otherwise_without_any_call(
    server: RecordingServer,
) -> None:
    client = HttpClient(server.url)
    assert (await client.health()).status is HealthStatus.DOWN
    async with client:
        health = await client.health()
        assert health.status is HealthStatus.UP
        assert health.detail == server.url
    assert (await client.health()).status is HealthStatus.DOWN
    assert server.seen == []


async def test_the_probe_reports_the_remote_health(server: RecordingServer) -> None:
    async with HttpClient(server.url, health_url="/health") as client:
        assert (await client.health()).status is HealthStatus.UP
        server.health_status = 503
        health = await client.health()

    assert health.status is HealthStatus.DEGRADED
    assert health.detail == f"GET {server.url}/health returned 503"
    assert len(server.to("/health")) == 2


async def test_a_slow_probe_is_degraded_after_its_timeout(server: RecordingServer) -> None:
    async with HttpClient(server.url, health_url="/health?stall=1", health_timeout=0.2) as client:
        health = await client.health()

    assert health.status is HealthStatus.DEGRADED
    assert health.detail.endswith("failed: ReadTimeout")


async def test_an_unreachable_probe_is_degraded_and_shows_no_secret(refused_url: str) -> None:
    url = refused_url.replace("http://", "http://svc:hunter2@")
    async with HttpClient(url, health_url="/health?token=s3cr3t") as client:
        health = await client.health()

    assert health.status is HealthStatus.DEGRADED
    assert health.detail == f"GET {refused_url}/health?token=*** failed: ConnectError"


class Orders(Service):
    def __init__(self, users_url: str) -> None:
        super().__init__(ServiceSettings(service_name="orders"))
        self.users = HttpClient(users_url, name="users-api", health_url="/health")

    def resources(self) -> list[Resource]:
        return [*super().resources(), self.users]


async def test_a_service_opens_the_client_and_reports_its_health(
    server: RecordingServer,
) -> None:
    service = Orders(server.url)
    assert isinstance(service.users, Resource)
    async with service:
        assert (await service.users.get("/items")).status_code == 200
        report = await service.health_report()
        assert report.checks["users-api"].status is HealthStatus.UP
        server.health_status = 500
        report = await service.health_report()
        assert report.checks["users-api"].status is HealthStatus.DEGRADED
        assert report.ready  # a degraded dependency does not take the service out

    assert (await service.users.health()).status is HealthStatus.DOWN
