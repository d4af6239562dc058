"""An ApiService small JSON endpoint vs bare FastAPI, and a cached user read vs the database.

Part 1: the same ``GET /item`` JSON route on an `ApiService` (request id, svckit's access
log line, problem handlers, tracing on with no SDK) and on bare FastAPI with uvicorn's
access log on; both served by uvicorn with the same settings, each in a process of its
own, their logs sent to /dev/null. Part 2: the users API's ``GET /users/{id}`` (a cached
read) against the same read from the database (a route that skips the cache), on SQLite.

The load comes from another process: ``--connections`` keep-alive HTTP/1.1 connections
sending requests back to back for ``--seconds``. Rounds alternate the sides; one JSON
line gives the medians (requests per second) and the median of per-round ratios
(``ratio``), and the server's CPU time per request, read from /proc, with its ratio
(``cpu_ratio``: requests per CPU second, svckit over bare), which other load on a shared
machine hardly moves.

    python bench/api.py [--rounds 5] [--seconds 2] [--connections 32]
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Password-2024!"  # noqa: S105 - the bench account's


# ---------------------------------------------------------------- the servers


def _router() -> Any:
    """The route both sides serve, in a router as an app's routes usually are."""
    from fastapi import APIRouter  # noqa: PLC0415

    router = APIRouter()

    @router.get("/item")
    async def item() -> dict[str, object]:
        return {"id": 42, "name": "widget", "tags": ["a", "b"], "price": 9.5}

    return router


def _bare_app() -> Any:
    from fastapi import FastAPI  # noqa: PLC0415

    app = FastAPI()
    app.include_router(_router())
    return app


def _serve_bare(port: int) -> None:
    import uvicorn  # noqa: PLC0415

    # uvicorn's own logging configuration, its access log on, as a plain app has it.
    config = uvicorn.Config(_bare_app(), host="127.0.0.1", port=port, access_log=True)
    asyncio.run(uvicorn.Server(config).serve())


def _serve_svckit(port: int) -> None:
    from svckit.api import ApiService, ApiSettings  # noqa: PLC0415

    class Bench(ApiService):
        settings: ApiSettings
        api_routers = (_router(),)

    settings = ApiSettings(
        _env_file=None, service_name="bench-api", http_port=port, log_format="json"
    )
    asyncio.run(Bench(settings).run())


def _serve_users(port: int, database: str) -> None:
    from fastapi import APIRouter  # noqa: PLC0415

    from examples.users_api.deps import App, CurrentUser  # noqa: PLC0415
    from examples.users_api.schemas import UserOut  # noqa: PLC0415
    from examples.users_api.service import UsersApi  # noqa: PLC0415
    from examples.users_api.settings import UsersSettings  # noqa: PLC0415

    router = APIRouter()

    @router.get("/uncached/users/{user_id}")
    async def uncached(user_id: int, user: CurrentUser, app: App) -> UserOut | None:
        del user
        return await app.users.load(user_id)

    class BenchUsers(UsersApi):
        settings: UsersSettings
        api_routers = (*UsersApi.api_routers, router)

    settings = UsersSettings(
        _env_file=None,
        http_port=port,
        log_format="json",
        database_url=f"sqlite+aiosqlite:///{database}",
        database_create_schema=True,
        login_attempts_per_address=10**9,
    )
    asyncio.run(BenchUsers(settings).run())


# ---------------------------------------------------------------- the load


async def _connection(
    port: int, request: bytes, deadline: float, counts: list[int], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
            counts[0] += 1
    finally:
        writer.close()


async def _load(port: int, path: str, headers: str, connections: int, seconds: float) -> None:
    extra = "".join(f"{h}\r\n" for h in headers.split("\n") if h)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()
    counts, errors = [0], [0]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(port, request, deadline, counts, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    print(json.dumps({"rps": counts[0] / elapsed, "requests": counts[0], "errors": errors[0]}))


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    port: int, path: str, args: argparse.Namespace, headers: str = "", pid: int | None = None
) -> tuple[float, float]:
    """Requests per second from a load generator process of its own, and the server's CPU
    microseconds per request (when ``pid`` is given; other load on the machine slows the
    first, hardly the second)."""
    cpu_before = cpu_seconds(pid) if pid is not None else 0.0
    out = subprocess.run(  # noqa: S603 - this interpreter, this script
        [
            sys.executable,
            __file__,
            "load",
            str(port),
            path,
            headers,
            str(args.connections),
            str(args.seconds),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    if result["errors"]:
        raise SystemExit(f"{result['errors']} failed requests on {path}")
    cpu = cpu_seconds(pid) - cpu_before if pid is not None else 0.0
    return float(result["rps"]), cpu / max(result["requests"], 1) * 1e6


# ---------------------------------------------------------------- the run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(kind: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this script
        [sys.executable, __file__, kind, str(port), *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
        else:
            return process
    process.kill()
    raise SystemExit(f"the {kind} server did not start")


def _http(port: int, method: str, path: str, body: bytes, content_type: str) -> dict[str, Any]:
    import httpx2  # noqa: PLC0415

    response = httpx2.request(
        method,
        f"http://127.0.0.1:{port}{path}",
        content=body,
        headers={"Content-Type": content_type},
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _rounds(
    args: argparse.Namespace, sides: dict[str, tuple[int, str, str, int]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    rps: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, (port, path, headers, pid) in sides.items():
            rate, per_request = measure(port, path, args, headers, pid)
            rps[name].append(rate)
            cpu[name].append(per_request)
    return rps, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    ports = {"svckit": _free_port(), "bare": _free_port()}
    servers = [_start("serve-svckit", ports["svckit"]), _start("serve-bare", ports["bare"])]
    try:
        for port in ports.values():
            measure(port, "/item", argparse.Namespace(connections=4, seconds=0.5))  # warm up
        pids = {"svckit": servers[0].pid, "bare": servers[1].pid}
        api, api_cpu = _rounds(
            args, {side: (port, "/item", "", pids[side]) for side, port in ports.items()}
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait(30)

    folder = tempfile.mkdtemp(prefix="bench-users-")
    port = _free_port()
    users = _start("serve-users", port, f"{folder}/users.sqlite3")
    try:
        body = json.dumps({"email": "bench@example.com", "password": PASSWORD}).encode()
        user = _http(port, "POST", "/users", body, "application/json")
        form = f"username=bench%40example.com&password={PASSWORD}".encode()
        token = _http(port, "POST", "/auth/token", form, "application/x-www-form-urlencoded")
        auth = f"Authorization: Bearer {token['access_token']}"
        path = f"/users/{user['id']}"
        measure(port, path, argparse.Namespace(connections=4, seconds=0.5), auth)
        reads, _ = _rounds(
            args,
            {
                "cached": (port, path, auth, users.pid),
                "database": (port, f"/uncached{path}", auth, users.pid),
            },
        )
    finally:
        users.terminate()
        users.wait(30)

    ratios = [s / b for s, b in zip(api["svckit"], api["bare"], strict=True)]
    # Requests one CPU second serves: svckit's over bare FastAPI's.
    cpu_ratios = [b / s for s, b in zip(api_cpu["svckit"], api_cpu["bare"], strict=True)]
    read_ratios = [c / d for c, d in zip(reads["cached"], reads["database"], strict=True)]
    line = {
        "bench": "api",
        "svckit": round(statistics.median(api["svckit"]), 1),
        "baseline": round(statistics.median(api["bare"]), 1),
        "ratio": round(statistics.median(ratios), 3),
        "unit": "requests/s",
        "cpu_us_per_request": {
            "svckit": round(statistics.median(api_cpu["svckit"]), 1),
            "baseline": round(statistics.median(api_cpu["bare"]), 1),
        },
        "cpu_ratio": round(statistics.median(cpu_ratios), 3),
        "connections": args.connections,
        "cached_read": round(statistics.median(reads["cached"]), 1),
        "database_read": round(statistics.median(reads["database"]), 1),
        "cached_ratio": round(statistics.median(read_ratios), 3),
        "rounds": {
            "svckit": [round(x, 1) for x in api["svckit"]],
            "baseline": [round(x, 1) for x in api["bare"]],
            "cached": [round(x, 1) for x in reads["cached"]],
            "database": [round(x, 1) for x in reads["database"]],
        },
    }
    json.dump(line, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "serve-bare":
        _serve_bare(int(sys.argv[2]))
    elif command == "serve-svckit":
        _serve_svckit(int(sys.argv[2]))
    elif command == "serve-users":
        _serve_users(int(sys.argv[2]), sys.argv[3])
    elif command == "load":
        port_, path_, headers_, connections_, seconds_ = sys.argv[2:7]
        asyncio.run(_load(int(port_), path_, headers_, int(connections_), float(seconds_)))
    else:
        main()
