"""Retries follow the RetryPolicy, and only where repeating a call is safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

import pytest

from svckit import RetryPolicy
from svckit.http import HttpClient, HttpStatusError, HttpTimeout, HttpTransportError
from svckit.http._decide import retry_after
from tests.http._support import FakeTime, quick_policy

if TYPE_CHECKING:
    from tests.http._server import RecordingServer


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_a_get_is_retried_until_it_succeeds(server: RecordingServer, status: int) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3)) as client:
        response = await client.get(f"/flaky?fail=2&status={status}")

    assert response.json() == {"n": 3}
    assert len(server.to("/flaky")) == 3


async def test_a_get_gives_up_after_the_policys_attempts(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=4)) as client:
        with pytest.raises(HttpStatusError) as caught:
            await client.get("/down?fail=100")

    assert caught.value.status == 503
    assert len(server.to("/down")) == 4


async def test_one_attempt_means_no_retry(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(HttpStatusError):
            await client.get("/down?fail=100")

    assert len(server.to("/down")) == 1


async def test_the_retries_of_one_call_carry_its_request_id(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3)) as client:
        await client.get("/flaky?fail=2")
        await client.get("/other")

    ids = [seen.headers["x-request-id"] for seen in server.seen]
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] != ids[0]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_call_that_is_not_idempotent_is_not_retried(
    server: RecordingServer, method: str
) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=5)) as client:
        with pytest.raises(HttpStatusError) as caught:
            await client.request(method, "/orders?fail=1")

    assert caught.value.status == 503
    assert len(server.to("/orders")) == 1


async def test_an_idempotency_key_makes_a_post_retryable(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3)) as client:
        response = await client.post(
            "/orders?fail=2", json={"item": 1}, headers={"Idempotency-Key": "order-77"}
        )

    assert response.status_code == 200
    seen = server.to("/orders")
    assert len(seen) == 3
    assert {s.headers["idempotency-key"] for s in seen} == {"order-77"}
    assert {s.body for s in seen} == {b'{"item":1}'}


async def test_the_caller_can_force_or_forbid_retries(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3)) as client:
        assert (await client.post("/forced?fail=2", retry=True)).status_code == 200
        with pytest.raises(HttpStatusError):
            await client.get("/forbidden?fail=2", retry=False)

    assert len(server.to("/forced")) == 3
    assert len(server.to("/forbidden")) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 501])
async def test_other_error_statuses_are_final(server: RecordingServer, status: int) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=5)) as client:
        with pytest.raises(HttpStatusError) as caught:
            await client.get(f"/final?fail=100&status={status}")

    assert caught.value.status == status
    assert len(server.to("/final")) == 1


async def test_the_waits_are_the_policys_delays(server: RecordingServer) -> None:
    policy = RetryPolicy(attempts=4, initial_delay=0.5, multiplier=3, max_delay=100, jitter=0)
    client = HttpClient(server.url, retry=policy)
    time = FakeTime(client)
    async with client:
        await client.get("/flaky?fail=3")

    assert time.waits == [policy.delay(1), policy.delay(2), policy.delay(3)] == [0.5, 1.5, 4.5]


async def test_jittered_waits_stay_within_the_policys_range(server: RecordingServer) -> None:
    policy = RetryPolicy(attempts=4, initial_delay=1, multiplier=2, jitter=0.5)
    client = HttpClient(server.url, retry=policy)
    time = FakeTime(client)
    async with client:
        await client.get("/flaky?fail=3")

    assert len(time.waits) == 3
    for attempt, wait in enumerate(time.waits, start=1):
        base = policy.base_delay(attempt)
        assert base * 0.5 <= wait <= base


@pytest.mark.parametrize(
    ("header", "max_delay", "expected"),
    [("7", 30.0, 7.0), ("120", 2.0, 2.0), ("0", 30.0, 0.0)],
)
async def test_retry_after_sets_the_wait_up_to_the_policys_cap(
    server: RecordingServer, header: str, max_delay: float, expected: float
) -> None:
    policy = RetryPolicy(attempts=2, initial_delay=0.25, max_delay=max_delay, jitter=0)
    client = HttpClient(server.url, retry=policy)
    time = FakeTime(client)
    async with client:
        response = await client.get(f"/limited?fail=1&status=429&retry_after={header}")

    assert response.status_code == 200
    assert time.waits == [expected]


async def test_a_bad_retry_after_falls_back_to_the_policy(server: RecordingServer) -> None:
    policy = RetryPolicy(attempts=2, initial_delay=0.25, jitter=0)
    client = HttpClient(server.url, retry=policy)
    time = FakeTime(client)
    async with client:
        await client.get("/limited?fail=1&status=503&retry_after=soon")

    assert time.waits == [0.25]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after("5", now) == 5.0
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    assert retry_after(None, now) is None
    assert retry_after("-3", now) is None
    assert retry_after("later", now) is None


async def test_no_try_starts_past_the_deadline(server: RecordingServer) -> None:
    policy = RetryPolicy(attempts=10, initial_delay=1, multiplier=2, jitter=0, deadline=2.5)
    client = HttpClient(server.url, retry=policy)
    time = FakeTime(client)
    async with client:
        with pytest.raises(HttpStatusError):
            await client.get("/down?fail=100")

    # The first wait (1 s) ends before the deadline; the second (2 s more) would not.
    assert time.waits == [1.0]
    assert len(server.to("/down")) == 2


async def test_the_policys_error_filter_applies(server: RecordingServer) -> None:
    only_timeouts = RetryPolicy(attempts=3, initial_delay=0, retry_on=(HttpTimeout,))
    async with HttpClient(server.url, retry=only_timeouts) as client:
        with pytest.raises(HttpStatusError):
            await client.get("/down?fail=100")

    assert len(server.to("/down")) == 1


async def test_a_refused_connection_is_retried_by_the_policy(refused_url: str) -> None:
    policy = RetryPolicy(attempts=3, initial_delay=0.1, jitter=0)
    client = HttpClient(refused_url, retry=policy)
    time = FakeTime(client)
    async with client:
        with pytest.raises(HttpTransportError):
            await client.get("/items")

    assert time.waits == [0.1, 0.2]


async def test_a_refused_post_is_not_retried(refused_url: str) -> None:
    client = HttpClient(refused_url, retry=RetryPolicy(attempts=3))
    time = FakeTime(client)
    async with client:
        with pytest.raises(HttpTransportError):
            await client.post("/orders")

    assert time.waits == []


async def test_a_get_that_timed_out_is_retried(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3), timeout=0.2) as client:
        response = await client.get("/slow?stall=2")

    assert response.json() == {"n": 3}
    assert len(server.to("/slow")) == 3


async def test_a_post_that_timed_out_is_not_retried(server: RecordingServer) -> None:
    async with HttpClient(server.url, retry=quick_policy(attempts=3), timeout=0.2) as client:
        with pytest.raises(HttpTimeout):
            await client.post("/slow?stall=5")

    assert len(server.to("/slow")) == 1
