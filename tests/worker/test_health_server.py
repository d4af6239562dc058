"""The health port: /livez and /readyz over plain HTTP, with the service's real state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from svckit import Health
from svckit.core.health_server import HealthServer
from svckit.testing import ServiceHarness
from tests.worker.sample_services import Thumbnails


async def _get(port: int, request: bytes) -> tuple[int, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)


def _request(method: str, path: str) -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode()


async def test_readiness_follows_the_lifecycle_and_liveness_stays_up() -> None:
    harness = ServiceHarness(Thumbnails)
    async with HealthServer([harness.service], host="127.0.0.1", port=0) as server:
        status, body = await _get(server.port, _request("GET", "/readyz"))
        assert (status, body["state"], body["ready"]) == (503, "new", False)

        async with harness:
            status, body = await _get(server.port, _request("GET", "/readyz"))
            assert status == 200
            assert body["ready"] is True
            assert body["checks"]["bus"]["status"] == "up"
            assert body["checks"]["cache"]["status"] == "up"
            status, _ = await _get(server.port, _request("GET", "/livez"))
            assert status == 200

        status, body = await _get(server.port, _request("GET", "/readyz"))
        assert (status, body["state"]) == (503, "stopped")


async def test_a_resource_that_is_down_makes_the_service_not_ready() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        cache = harness.service.cache

        async def degraded() -> Health:
            return Health.degraded("redis unreachable; failing open")

        async def down() -> Health:
            return Health.down("no broker")

        async with HealthServer([harness.service], host="127.0.0.1", port=0) as server:
            cache.health = degraded  # type: ignore[method-assign]
            status, body = await _get(server.port, _request("GET", "/readyz"))
            assert (status, body["status"]) == (200, "degraded")

            harness.service.bus.health = down  # type: ignore[method-assign]
            status, body = await _get(server.port, _request("GET", "/readyz"))
            assert (status, body["status"]) == (503, "down")
            assert body["checks"]["bus"] == {"status": "down", "detail": "no broker"}


async def test_wrong_paths_methods_and_garbage_get_precise_errors() -> None:
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0) as server,
    ):
        assert (await _get(server.port, _request("GET", "/nope")))[0] == 404
        assert (await _get(server.port, _request("POST", "/readyz")))[0] == 405
        assert (await _get(server.port, b"garbage\r\n\r\n"))[0] == 400


async def test_one_server_reports_on_several_services() -> None:
    one, two = ServiceHarness(Thumbnails), ServiceHarness(Thumbnails)
    async with one, HealthServer([one.service, two.service], host="127.0.0.1", port=0) as server:
        status, body = await _get(server.port, _request("GET", "/readyz"))
        assert status == 503, "ready only when every service is"
        assert [s["state"] for s in body["services"]] == ["running", "new"]
        async with two:
            status, _ = await _get(server.port, _request("GET", "/readyz"))
            assert status == 200
