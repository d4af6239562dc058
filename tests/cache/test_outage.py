"""Outages: a Redis server of the test's own is stopped and started again on its port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from svckit import CacheError
from svckit.cache import Cache
from svckit.core.health import HealthStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from opentelemetry.sdk.metrics import MeterProvider

    Eventually = Callable[..., Awaitable[None]]
    ReadCounter = Callable[[str], int]

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


class Profile(BaseModel):
    id: int
    name: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A throwaway redis-server on its own port, without persistence."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)  # polling a port that is not open yet, under a deadline

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        message = "redis-server is not installed"
        if os.environ.get("SVCKIT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(executable)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_cache_fails_open_and_recovers(
    own_redis: RedisServer,
    meter_provider: MeterProvider,
    read_counter: ReadCounter,
    eventually: Eventually,
) -> None:
    profile = Profile(id=1, name="ada")
    loads = 0

    async def load() -> Profile:
        nonlocal loads
        loads += 1
        return profile

    cache = Cache.from_url(
        own_redis.url,
        namespace=f"outage-{uuid.uuid4().hex[:8]}",
        meter=meter_provider.get_meter("test"),
    )
    async with cache:
        assert await cache.get_or_set("profile:1", Profile, load) == profile
        assert await cache.get_or_set("profile:1", Profile, load) == profile
        assert loads == 1

        with capture_logs() as logs:
            own_redis.stop()
            for _ in range(3):
                assert await cache.get_or_set("profile:1", Profile, load) == profile
            assert loads == 4  # every read fell through to the loader
            health = await cache.health()
            with pytest.raises(CacheError):
                await cache.get("profile:1", Profile)
        assert health.status is HealthStatus.DEGRADED
        assert "unreachable" in health.detail
        warnings = [entry for entry in logs if entry["log_level"] == "warning"]
        assert len(warnings) == 1  # one warning per interval, not one per failure
        assert read_counter("svckit.cache.fail_open") == 3
        assert read_counter("svckit.cache.errors") == 4

        own_redis.start()

        async def healthy() -> bool:
            return (await cache.health()).status is HealthStatus.UP

        await eventually(healthy, what="the cache recovering")
        # The restarted server is empty: one load fills it, the next read hits.
        assert await cache.get_or_set("profile:1", Profile, load) == profile
        assert await cache.get_or_set("profile:1", Profile, load) == profile
        assert loads == 5


async def test_a_cache_that_is_down_at_start_opens_degraded(meter_provider: MeterProvider) -> None:
    cache = Cache.from_url(
        f"redis://127.0.0.1:{free_port()}/0",
        namespace="down",
        meter=meter_provider.get_meter("test"),
    )
    async with cache:
        assert (await cache.health()).status is HealthStatus.DEGRADED

        async def load() -> str:
            return "from the source"

        assert await cache.get_or_set("k", str, load) == "from the source"


async def test_the_password_stays_out_of_errors_health_and_logs() -> None:
    cache = Cache.from_url(f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0", namespace="pw")
    with capture_logs() as logs:
        async with cache:
            health = await cache.health()
            with pytest.raises(CacheError) as caught:
                await cache.set("k", "v")
    assert logs  # the failure was logged...
    assert "s3cret-pw" not in repr(logs)  # ...without the password
    assert "s3cret-pw" not in health.detail
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in str(caught.value.__cause__)
