"""`svckit run` serves an ApiService with uvicorn; SIGTERM lets a slow request finish."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import pytest

from tests._processes import svckit_run

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests._processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]


async def _port(child: ServiceProcess) -> int:
    listening = await child.wait_log("http server listening")
    port = listening["port"]
    assert isinstance(port, int)
    return port


async def serve_and_stop_during_a_slow_request(
    env: dict[str, str],
    tmp_path: Path,
    *,
    target: str = "tests.api._slow_app:Slow",
    prefix: str = "SVCKIT",
    while_running: Callable[[httpx2.AsyncClient], Awaitable[None]] | None = None,
) -> list[dict[str, object]]:
    """The scenario, on the backends ``env`` names; the process's log lines."""
    release = tmp_path / "release"
    env = {
        f"{prefix}_HTTP_PORT": "0",
        f"{prefix}_LOG_FORMAT": "json",
        "SLOW_RELEASE_FILE": str(release),
        **env,
    }
    async with svckit_run(target, env, cwd=ROOT) as child:
        port = await _port(child)
        base = f"http://127.0.0.1:{port}"
        async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/fast")).status_code == 200
            if while_running is not None:
                await while_running(client)
            slow = asyncio.create_task(client.get("/slow"))
            await child.wait_log("slow request entered")
            child.process.send_signal(15)
            await child.wait_log("http server closed to new connections; finishing requests")
            # A new connection after the signal is refused.
            async with httpx2.AsyncClient(base_url=base, timeout=5) as late:
                with pytest.raises(httpx2.ConnectError):
                    await late.get("/fast")
            assert not slow.done()
            release.touch()
            response = await slow
        assert response.status_code == 200
        assert response.json() == {"done": "yes"}
        async with asyncio.timeout(30):
            code = await child.process.wait()
        assert code == 0
        stopped = await child.wait_log("service stopped")
        assert stopped["drained"] == 1
        assert stopped["cut_off"] == 0
        access = [e["route"] for e in child.logs if e.get("logger") == "svckit.access"]
        assert access[0] == "/fast"
        assert access[-1] == "/slow"
        assert not [e for e in child.logs if e.get("logger") == "uvicorn.access"]
        return child.logs


async def test_sigterm_lets_a_slow_request_finish_and_refuses_new_ones(tmp_path: Path) -> None:
    await serve_and_stop_during_a_slow_request({}, tmp_path)
