"""Log lines: one debug line per request, a warning per retry, and never a secret."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from svckit import RetryPolicy, ServiceSettings, configure_logging
from svckit.http import HttpClient, HttpStatusError, HttpTransportError
from tests.http._support import quick_policy

if TYPE_CHECKING:
    from structlog.typing import EventDict

    from tests.http._server import RecordingServer


def secret_url(server: RecordingServer) -> str:
    return server.url.replace("http://", "http://svc:hunter2@")


async def test_one_debug_line_per_request(server: RecordingServer, logs: list[EventDict]) -> None:
    async with HttpClient(server.url) as client:
        await client.get("/users/7?fields=name")

    (line,) = logs
    assert line.pop("duration_ms") >= 0
    assert line.pop("request_id")
    assert line == {
        "event": "http request",
        "log_level": "debug",
        "method": "GET",
        "url": f"{server.url}/users/7?fields=name",
        "status": 200,
        "attempt": 1,
    }


async def test_a_warning_per_retry(server: RecordingServer, logs: list[EventDict]) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3)) as client:
        await client.get("/flaky?fail=2&status=502")

    warnings = [line for line in logs if line["log_level"] == "warning"]
    assert [(w["event"], w["attempt"], w["reason"]) for w in warnings] == [
        ("retrying http request", 1, "502"),
        ("retrying http request", 2, "502"),
    ]
    assert [line["status"] for line in logs if line["event"] == "http request"] == [502, 502, 200]


async def test_a_request_without_an_answer_is_logged_with_its_error(
    refused_url: str, logs: list[EventDict]
) -> None:
    async with HttpClient(refused_url, retry=quick_policy(attempts=2)) as client:
        with pytest.raises(HttpTransportError, match="no response"):
            await client.get("/items")

    assert [(line["event"], line.get("error") or line.get("reason")) for line in logs] == [
        ("http request failed", "ConnectError"),
        ("retrying http request", "ConnectError"),
        ("http request failed", "ConnectError"),
    ]


async def test_url_secrets_never_reach_the_log_lines(
    server: RecordingServer, logs: list[EventDict]
) -> None:
    async with HttpClient(secret_url(server), retry=quick_policy(attempts=2)) as client:
        with pytest.raises(HttpStatusError):
            await client.get("/items?fail=5&api_key=s3cr3t&page=2")

    assert len(logs) == 3
    text = repr(logs)
    assert "hunter2" not in text
    assert "s3cr3t" not in text
    assert logs[0]["url"] == f"{server.url}/items?fail=5&api_key=***&page=2"


@pytest.mark.usefixtures("restore_logging")
async def test_no_secret_in_what_a_debug_log_prints(
    server: RecordingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(ServiceSettings(service_name="orders", log_format="json", log_level="DEBUG"))
    async with HttpClient(secret_url(server), retry=RetryPolicy(attempts=1)) as client:
        await client.get("/items?token=s3cr3t")

    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert "s3cr3t" not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (ours,) = [line for line in lines if line["event"] == "http request"]
    assert ours["url"] == f"{server.url}/items?token=***"
    assert ours["service"] == "orders"
