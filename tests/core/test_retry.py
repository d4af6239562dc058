"""RetryPolicy: the schedule's bounds, exact attempt counts, filters, the deadline, three forms."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from svckit import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable

policies = st.builds(
    RetryPolicy,
    attempts=st.integers(min_value=1, max_value=50),
    initial_delay=st.floats(min_value=0, max_value=60),
    multiplier=st.floats(min_value=1, max_value=10),
    max_delay=st.floats(min_value=0, max_value=600),
    jitter=st.floats(min_value=0, max_value=1),
)
attempt_numbers = st.integers(min_value=1, max_value=100_000)
# Schedules that do not wait, so that exact counts are cheap to check.
no_wait = st.builds(
    RetryPolicy,
    attempts=st.integers(min_value=1, max_value=12),
    initial_delay=st.just(0.0),
)


class FlakyError(Exception):
    """An error worth another try."""


class GiveUpError(FlakyError):
    """A subclass of a retryable error that the policy gives up on."""


async def retry_block(policy: RetryPolicy, body: Callable[[], None]) -> None:
    """Run ``body`` in the block form: ``async for attempt in policy: with attempt:``."""
    async for attempt in policy:
        with attempt:
            body()


# ------------------------------------------------------------------ the schedule


@given(policy=policies, attempt=attempt_numbers, seed=st.integers())
def test_every_delay_lies_between_the_jittered_floor_and_the_base(
    policy: RetryPolicy, attempt: int, seed: int
) -> None:
    base = policy.base_delay(attempt)
    delay = policy.delay(attempt, random.Random(seed))

    assert 0 <= delay <= base <= policy.max_delay
    # base * (1 - jitter) and base - base * jitter may differ in the last bit.
    assert delay >= base * (1 - policy.jitter) - 1e-12 * base
    assert 0 <= policy.delay(attempt) <= base


@given(policy=policies, attempt=attempt_numbers)
# A zero initial delay stays zero however far the exponent grows.
@example(policy=RetryPolicy(initial_delay=0, multiplier=2, max_delay=30), attempt=2_000)
# A slow growth still reaches values past the thousandth attempt.
@example(policy=RetryPolicy(initial_delay=0.001, multiplier=1.001, max_delay=30), attempt=5_000)
# An int multiplier and an absurd attempt number must not compute a giant integer.
@example(policy=RetryPolicy(initial_delay=1, multiplier=10, max_delay=5), attempt=10**30)
def test_base_delay_grows_exponentially_up_to_the_cap(policy: RetryPolicy, attempt: int) -> None:
    base = policy.base_delay(attempt)
    try:
        grown = policy.initial_delay * float(policy.multiplier) ** (attempt - 1)
    except OverflowError:
        grown = float("inf")
    expected = 0.0 if policy.initial_delay == 0 else min(policy.max_delay, grown)

    assert base == pytest.approx(expected, rel=1e-9)


@given(policy=policies, attempt=attempt_numbers)
def test_base_delay_never_shrinks(policy: RetryPolicy, attempt: int) -> None:
    assert policy.base_delay(attempt + 1) >= policy.base_delay(attempt)


@given(policy=policies, attempt=attempt_numbers)
def test_without_jitter_the_delay_is_the_base(policy: RetryPolicy, attempt: int) -> None:
    exact = RetryPolicy(
        initial_delay=policy.initial_delay,
        multiplier=policy.multiplier,
        max_delay=policy.max_delay,
        jitter=0,
    )

    assert exact.delay(attempt) == exact.base_delay(attempt)


@given(policy=policies, attempt=st.integers(min_value=1, max_value=60))
def test_should_retry_allows_exactly_attempts_minus_one_retries(
    policy: RetryPolicy, attempt: int
) -> None:
    assert policy.should_retry(FlakyError(), attempt) == (attempt < policy.attempts)


def test_should_retry_honours_the_exception_filters() -> None:
    policy = RetryPolicy(attempts=5, retry_on=(FlakyError,), give_up_on=(GiveUpError,))

    assert policy.should_retry(FlakyError(), 1)
    assert not policy.should_retry(GiveUpError(), 1)
    assert not policy.should_retry(ValueError(), 1)


@pytest.mark.parametrize(
    "options",
    [
        {"attempts": 0},
        {"initial_delay": -1},
        {"max_delay": -1},
        {"multiplier": 0.5},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"deadline": 0},
    ],
)
def test_nonsense_policies_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per option
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        RetryPolicy().base_delay(0)


# ------------------------------------------------------------------ counts and filters


@given(policy=no_wait)
def test_sync_always_failing_function_is_called_exactly_attempts_times(
    policy: RetryPolicy,
) -> None:
    calls: list[int] = []

    @policy
    def always_fails() -> None:
        calls.append(len(calls) + 1)
        raise FlakyError(f"try {len(calls)}")

    with pytest.raises(FlakyError) as caught:
        always_fails()

    assert len(calls) == policy.attempts
    # The last error itself, not tenacity's RetryError wrapping it.
    assert type(caught.value) is FlakyError
    assert str(caught.value) == f"try {policy.attempts}"


@given(policy=no_wait)
async def test_async_always_failing_function_is_called_exactly_attempts_times(
    policy: RetryPolicy,
) -> None:
    calls: list[int] = []

    @policy
    async def always_fails() -> None:
        calls.append(len(calls) + 1)
        raise FlakyError(f"try {len(calls)}")

    with pytest.raises(FlakyError, match=f"^try {policy.attempts}$"):
        await always_fails()

    assert len(calls) == policy.attempts


@given(policy=no_wait)
async def test_block_form_runs_the_block_exactly_attempts_times(policy: RetryPolicy) -> None:
    calls = 0

    def body() -> None:
        nonlocal calls
        calls += 1
        raise FlakyError(f"try {calls}")

    with pytest.raises(FlakyError, match=f"^try {policy.attempts}$"):
        await retry_block(policy, body)

    assert calls == policy.attempts


@given(attempts=st.integers(min_value=2, max_value=12), data=st.data())
def test_success_after_failures_returns_the_value(attempts: int, data: st.DataObject) -> None:
    failures = data.draw(st.integers(min_value=0, max_value=attempts - 1))
    calls = 0

    @RetryPolicy(attempts=attempts, initial_delay=0)
    def fetch(key: str) -> str:
        nonlocal calls
        calls += 1
        if calls <= failures:
            raise FlakyError
        return f"value of {key}"

    assert fetch("k") == "value of k"
    assert calls == failures + 1


async def test_async_success_after_failures_returns_the_value() -> None:
    calls = 0

    @RetryPolicy(attempts=3, initial_delay=0)
    async def fetch(key: str) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise FlakyError
        return f"value of {key}"

    assert await fetch("k") == "value of k"
    assert calls == 3


async def test_decorated_coroutine_functions_still_make_coroutines() -> None:
    @RetryPolicy(attempts=1)
    async def answer() -> int:
        return 42

    # create_task takes a coroutine, not any awaitable: mypy --strict checks this line.
    assert await asyncio.create_task(answer()) == 42


async def test_block_form_stops_after_the_first_success() -> None:
    calls = 0

    async for attempt in RetryPolicy(attempts=5, initial_delay=0):
        with attempt:
            calls += 1
            if calls < 2:
                raise FlakyError

    assert calls == 2


@given(attempts=st.integers(min_value=1, max_value=12))
def test_exceptions_outside_retry_on_are_raised_after_one_call(attempts: int) -> None:
    calls = 0

    @RetryPolicy(attempts=attempts, initial_delay=0, retry_on=(ConnectionError,))
    def parse() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("not a network problem")

    with pytest.raises(ValueError, match="not a network problem"):
        parse()

    assert calls == 1


@given(attempts=st.integers(min_value=1, max_value=12))
async def test_give_up_on_wins_over_retry_on(attempts: int) -> None:
    calls = 0

    @RetryPolicy(
        attempts=attempts, initial_delay=0, retry_on=(FlakyError,), give_up_on=(GiveUpError,)
    )
    async def call() -> None:
        nonlocal calls
        calls += 1
        raise GiveUpError

    with pytest.raises(GiveUpError):
        await call()

    assert calls == 1


async def test_block_form_raises_non_retryable_errors_at_once() -> None:
    calls = 0

    def body() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("missing")

    with pytest.raises(KeyError):
        await retry_block(RetryPolicy(attempts=5, initial_delay=0, retry_on=(FlakyError,)), body)

    assert calls == 1


def test_decorators_keep_the_function_identity() -> None:
    policy = RetryPolicy()

    @policy
    def sync_named() -> None:
        """Sync docs."""

    @policy
    async def async_named() -> None:
        """Async docs."""

    assert (sync_named.__name__, sync_named.__doc__) == ("sync_named", "Sync docs.")
    assert (async_named.__name__, async_named.__doc__) == ("async_named", "Async docs.")
    assert asyncio.iscoroutinefunction(async_named)
    assert not asyncio.iscoroutinefunction(sync_named)


# ------------------------------------------------------------------ the deadline

DELAY = 0.02
DEADLINE = 0.2
# Far more attempts than fit in the deadline, so that only the deadline can stop the loop.
DEADLINE_POLICY = RetryPolicy(
    attempts=10_000, initial_delay=DELAY, multiplier=1, max_delay=DELAY, jitter=0, deadline=DEADLINE
)


def _assert_deadline_honoured(started: float, tries: list[float], gave_up: float) -> None:
    assert 1 < len(tries) < DEADLINE_POLICY.attempts
    # Each retry was allowed only because it would start before the deadline: the failure
    # of the try before it, plus the fixed delay, lay inside the deadline.
    for failed_at in tries[:-1]:
        assert failed_at - tries[0] + DELAY < DEADLINE
    # And it gave up only because the next try would have started past the deadline.
    assert gave_up - started + DELAY >= DEADLINE


def test_sync_retries_stop_at_the_deadline() -> None:
    tries: list[float] = []

    @DEADLINE_POLICY
    def always_fails() -> None:
        tries.append(time.monotonic())
        raise FlakyError(f"try {len(tries)}")

    started = time.monotonic()
    with pytest.raises(FlakyError) as caught:
        always_fails()
    gave_up = time.monotonic()

    _assert_deadline_honoured(started, tries, gave_up)
    assert str(caught.value) == f"try {len(tries)}"


async def test_async_retries_stop_at_the_deadline() -> None:
    tries: list[float] = []

    @DEADLINE_POLICY
    async def always_fails() -> None:
        tries.append(time.monotonic())
        raise FlakyError(f"try {len(tries)}")

    started = time.monotonic()
    with pytest.raises(FlakyError) as caught:
        await always_fails()
    gave_up = time.monotonic()

    _assert_deadline_honoured(started, tries, gave_up)
    assert str(caught.value) == f"try {len(tries)}"


async def test_block_form_stops_at_the_deadline() -> None:
    tries: list[float] = []

    def body() -> None:
        tries.append(time.monotonic())
        raise FlakyError

    started = time.monotonic()
    with pytest.raises(FlakyError):
        await retry_block(DEADLINE_POLICY, body)
    gave_up = time.monotonic()

    _assert_deadline_honoured(started, tries, gave_up)


@settings(max_examples=20)
@given(attempts=st.integers(min_value=1, max_value=5))
def test_a_deadline_longer_than_the_schedule_changes_nothing(attempts: int) -> None:
    calls = 0

    @RetryPolicy(attempts=attempts, initial_delay=0, deadline=3600)
    def always_fails() -> None:
        nonlocal calls
        calls += 1
        raise FlakyError

    with pytest.raises(FlakyError):
        always_fails()

    assert calls == attempts
