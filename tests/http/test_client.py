"""The client as a user meets it: one pool for its life, base URL, headers, request ids."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from pydantic import SecretStr

from svckit import ConfigurationError, LifecycleError, bind_context
from svckit.http import HttpClient

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from tests.http._server import RecordingServer


async def test_sequential_calls_reuse_one_connection(server: RecordingServer) -> None:
    async with HttpClient(server.url) as client:
        for _ in range(5):
            response = await client.get("/items")
            assert response.status_code == 200

    ports = {seen.peer_port for seen in server.to("/items")}
    assert len(server.to("/items")) == 5
    assert len(ports) == 1, f"one TCP connection expected, the server saw {len(ports)}"


async def test_the_limits_bound_the_connections_of_concurrent_calls(
    server: RecordingServer,
) -> None:
    limits = httpx2.Limits(max_connections=2, max_keepalive_connections=2)
    async with HttpClient(server.url, limits=limits) as client:
        responses = await asyncio.gather(*(client.get("/items") for _ in range(8)))

    assert [r.status_code for r in responses] == [200] * 8
    assert len({seen.peer_port for seen in server.to("/items")}) <= 2


async def test_relative_urls_join_the_base_url_and_default_headers_are_sent(
    server: RecordingServer,
) -> None:
    async with HttpClient(f"{server.url}/api/v1/", headers={"User-Agent": "orders/1.0"}) as client:
        await client.get("users/7", params={"fields": "name"})

    (seen,) = server.seen
    assert (seen.path, seen.query) == ("/api/v1/users/7", "fields=name")
    assert seen.headers["user-agent"] == "orders/1.0"


async def test_a_json_body_arrives_as_json(server: RecordingServer) -> None:
    async with HttpClient(server.url) as client:
        response = await client.post("/orders", json={"item": "book", "quantity": 2})

    assert response.json() == {"n": 1}
    (seen,) = server.seen
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {"item": "book", "quantity": 2}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def test_every_method_is_sent_as_it_is(server: RecordingServer, method: str) -> None:
    async with HttpClient(server.url) as client:
        response = await client.request(method.lower(), "/thing")

    assert response.status_code == 200
    assert [seen.method for seen in server.seen] == [method]


async def test_the_shortcuts_send_their_method(server: RecordingServer) -> None:
    async with HttpClient(server.url) as client:
        await client.get("/a")
        await client.post("/a")
        await client.put("/a")
        await client.patch("/a")
        await client.delete("/a")

    assert [seen.method for seen in server.seen] == ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def test_every_call_gets_a_new_request_id(server: RecordingServer) -> None:
    async with HttpClient(server.url) as client:
        for _ in range(3):
            await client.get("/items")

    ids = [seen.headers["x-request-id"] for seen in server.seen]
    assert all(ids)
    assert len(set(ids)) == 3


async def test_the_bound_request_id_travels_on(server: RecordingServer) -> None:
    async with HttpClient(server.url) as client:
        with bind_context(request_id="req-42"):
            await client.get("/items")
            await client.post("/items")
        await client.get("/items")

    ids = [seen.headers["x-request-id"] for seen in server.seen]
    assert ids[:2] == ["req-42", "req-42"]
    assert ids[2] != "req-42"


async def test_a_request_id_of_the_caller_wins(server: RecordingServer) -> None:
    async with HttpClient(server.url) as client:
        with bind_context(request_id="bound"):
            await client.get("/items", headers={"x-request-id": "mine"})

    (seen,) = server.seen
    assert seen.headers["x-request-id"] == "mine"


async def test_calls_outside_the_open_block_are_refused(server: RecordingServer) -> None:
    client = HttpClient(server.url, name="users-api")
    with pytest.raises(LifecycleError, match="'users-api' is not open"):
        await client.get("/items")
    async with client:
        await client.get("/items")
    with pytest.raises(LifecycleError, match="not open"):
        await client.get("/items")
    assert len(server.seen) == 1


async def test_opening_twice_is_refused_and_reopening_after_close_works(
    server: RecordingServer,
) -> None:
    client = HttpClient(server.url)
    async with client:
        with pytest.raises(LifecycleError, match="open already"):
            await client.__aenter__()
    async with client:
        assert (await client.get("/items")).status_code == 200


def test_a_bad_base_url_is_refused_without_echoing_its_secret() -> None:
    with pytest.raises(ConfigurationError, match="invalid base URL") as caught:
        HttpClient("http://user:hunter2@host:notaport/")
    assert "hunter2" not in str(caught.value)


def test_the_base_url_is_shown_without_credentials() -> None:
    client = HttpClient(SecretStr("https://svc:hunter2@users.internal/api?token=abc"), name="u")

    assert client.base_url == "https://users.internal/api?token=***"
    assert "hunter2" not in repr(client)
    assert "abc" not in repr(client)


async def test_credentials_in_the_base_url_are_sent_as_basic_auth(
    server: RecordingServer,
) -> None:
    url = server.url.replace("http://", "http://svc:hunter2@")
    async with HttpClient(url) as client:
        await client.get("/items")

    (seen,) = server.seen
    assert seen.headers["authorization"] == "Basic c3ZjOmh1bnRlcjI="


async def test_a_transport_can_stand_in_for_the_network() -> None:
    seen: list[MutableMapping[str, Any]] = []

    async def app(
        scope: MutableMapping[str, Any],
        _receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"from the app"})

    async with HttpClient("http://users", transport=httpx2.ASGITransport(app)) as client:
        response = await client.get("/users/7")

    assert response.text == "from the app"
    (scope,) = seen
    assert scope["path"] == "/users/7"
    assert any(name == b"x-request-id" and value for name, value in scope["headers"])
