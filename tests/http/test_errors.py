"""Failures come out as svckit's HTTP errors, with the library's error as their cause."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx2
import pytest

from svckit import RetryPolicy, SvckitError
from svckit.http import HttpClient, HttpError, HttpStatusError, HttpTimeout, HttpTransportError

if TYPE_CHECKING:
    from tests.http._server import RecordingServer

NO_RETRY = RetryPolicy(attempts=1)


async def test_a_read_timeout_is_an_http_timeout(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=NO_RETRY, timeout=0.2) as client:
        with pytest.raises(HttpTimeout) as caught:
            await client.get("/slow?stall=1")

    error = caught.value
    assert isinstance(error, HttpTransportError)
    assert isinstance(error, SvckitError)
    assert error.phase == "read"
    assert isinstance(error.__cause__, httpx2.ReadTimeout)
    assert str(error) == f"GET {server.url}/slow?stall=1: read timeout"


async def test_a_call_can_have_its_own_timeout(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=NO_RETRY, timeout=30) as client:
        with pytest.raises(HttpTimeout):
            await client.get("/slow?stall=1", timeout=0.2)


async def test_waiting_for_a_free_connection_times_out_as_pool(server: RecordingServer) -> None:
    limits = httpx2.Limits(max_connections=1)
    timeout = httpx2.Timeout(30, pool=0.2)
    async with HttpClient(server.url, retry=NO_RETRY, timeout=timeout, limits=limits) as client:
        holding = asyncio.create_task(client.get("/slow?stall=1"))
        await server.wait_for("/slow")  # the one connection is taken
        with pytest.raises(HttpTimeout) as caught:
            await client.get("/items")
        server.release.set()
        assert (await holding).status_code == 200

    assert caught.value.phase == "pool"
    assert server.to("/items") == []


async def test_a_refused_connection_is_a_transport_error(refused_url: str) -> None:
    async with HttpClient(refused_url, retry=NO_RETRY) as client:
        with pytest.raises(HttpTransportError) as caught:
            await client.get("/items")

    assert not isinstance(caught.value, HttpTimeout)
    assert isinstance(caught.value.__cause__, httpx2.ConnectError)
    assert str(caught.value) == f"GET {refused_url}/items: no response (ConnectError)"


async def test_an_error_status_keeps_the_response_and_says_little(
    server: RecordingServer,
) -> None:
    async with HttpClient(server.url) as client:
        with pytest.raises(HttpStatusError) as caught:
            await client.get("/users/7?fail=1&status=404")

    error = caught.value
    assert isinstance(error, HttpError)
    assert (error.status, error.method) == (404, "GET")
    assert error.url == f"{server.url}/users/7?fail=1&status=404"
    assert str(error) == f"GET {server.url}/users/7?fail=1&status=404 returned 404 Not Found"
    assert error.response.status_code == 404


async def test_error_statuses_can_be_returned_instead(server: RecordingServer) -> None:
    async with HttpClient(server.url, raise_for_status=False, retry=NO_RETRY) as client:
        assert (await client.get("/a?fail=1&status=404")).status_code == 404
        assert (await client.get("/b?fail=1&status=503")).status_code == 503
        with pytest.raises(HttpStatusError):
            await client.get("/c?fail=1&status=409", raise_for_status=True)

    async with HttpClient(server.url) as client:
        assert (await client.get("/d?fail=1&status=404", raise_for_status=False)).is_error


async def test_an_unsupported_scheme_is_an_http_error_and_not_retried(
    server: RecordingServer,
) -> None:
    async with HttpClient(server.url, retry=RetryPolicy(attempts=3)) as client:
        with pytest.raises(HttpError) as caught:
            await client.get("ftp://user:hunter2@files.internal/report")

    assert not isinstance(caught.value, HttpTransportError)
    assert "hunter2" not in str(caught.value)


async def test_error_messages_never_carry_url_secrets(server: RecordingServer) -> None:
    secret_url = server.url.replace("http://", "http://svc:hunter2@")
    async with HttpClient(secret_url, retry=NO_RETRY) as client:
        with pytest.raises(HttpStatusError) as caught:
            await client.get("/items?fail=1&status=401&api_key=s3cr3t")

    text = f"{caught.value} {caught.value.url}"
    assert "hunter2" not in text
    assert "s3cr3t" not in text
    assert "api_key=***" in text
