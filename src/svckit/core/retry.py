"""Retry: one policy for in-process retries and for the broker's delayed redeliveries.

A `RetryPolicy` says how often to try, how long to wait between tries and which errors
are worth another try. The same object serves three ways::

    policy = RetryPolicy(attempts=5, initial_delay=0.2, max_delay=10, deadline=30)

    @policy                      # as a decorator
    async def fetch() -> bytes: ...

    async for attempt in policy:  # around a block
        with attempt:
            await client.get(url)

    policy.delay(attempt=2)      # the wait a consumer's delay queue applies

In-process retries run on tenacity, which svckit drives with this policy's schedule,
stop rule and exception filter; the policy object stays svckit's own, so the broker-level
retries of the messaging layer use the very same numbers.
"""

from __future__ import annotations

import functools
import inspect
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine

    import tenacity

__all__ = ["RetryPolicy"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to try, how long to wait between tries, and which errors to retry.

    The wait before try ``n + 1`` grows exponentially from ``initial_delay`` by
    ``multiplier``, is capped at ``max_delay``, and is then jittered down by up to
    ``jitter`` of itself, so that many clients that failed together do not retry
    together.

    Attributes:
        attempts: Tries in all, the first included; 1 means no retry.
        initial_delay: Seconds before the second try, before jitter.
        multiplier: Growth of the delay from one try to the next.
        max_delay: The cap on one delay, in seconds, before jitter.
        jitter: The fraction (0 to 1) of each delay that is random.
        deadline: Seconds from the first try after which no new try starts; ``None``
            for no limit.
        retry_on: Exception types worth another try.
        give_up_on: Exception types never retried, even when they match ``retry_on``.
    """

    attempts: int = 3
    initial_delay: float = 0.1
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5
    deadline: float | None = None
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    give_up_on: tuple[type[BaseException], ...] = field(default=())

    def __post_init__(self) -> None:
        """Check that the numbers make a schedule."""
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("delays cannot be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be positive")

    # ------------------------------------------------------------------ schedule

    def base_delay(self, attempt: int) -> float:
        """The delay after try ``attempt`` failed, before jitter."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        if self.initial_delay == 0:
            # Zero grows to zero; the power below could overflow and wrongly hit the cap.
            return 0.0
        try:
            # float(): an int multiplier would make a huge exact integer power.
            grown = self.initial_delay * float(self.multiplier) ** (attempt - 1)
        except OverflowError:
            # Past the float range, the cap is reached long before.
            grown = self.max_delay
        return min(self.max_delay, grown)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered delay, in seconds, after try ``attempt`` failed.

        The result lies in ``[base * (1 - jitter), base]`` where ``base`` is
        `base_delay`.
        """
        base = self.base_delay(attempt)
        spread = base * self.jitter
        return base - spread * (rng or _RANDOM).random()

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether ``exc``, raised by try ``attempt``, deserves another try."""
        return (
            attempt < self.attempts
            and isinstance(exc, self.retry_on)
            and not isinstance(exc, self.give_up_on)
        )

    # ------------------------------------------------------------------ in-process

    def _tenacity_kwargs(self) -> dict[str, Any]:
        import tenacity  # noqa: PLC0415 - imported on first use to keep `import svckit` light

        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(self.attempts)
        if self.deadline is not None:
            # Do not start a wait that would end past the deadline.
            stop = stop | tenacity.stop_before_delay(self.deadline)
        return {
            "stop": stop,
            "wait": lambda state: self.delay(state.attempt_number),
            "retry": tenacity.retry_if_exception(
                lambda exc: isinstance(exc, self.retry_on) and not isinstance(exc, self.give_up_on),
            ),
            "reraise": True,
        }

    def async_retrying(self) -> tenacity.AsyncRetrying:
        """A tenacity ``AsyncRetrying`` that follows this policy (re-raises the last error)."""
        import tenacity  # noqa: PLC0415

        return tenacity.AsyncRetrying(**self._tenacity_kwargs())

    def __aiter__(self) -> AsyncIterator[tenacity.AttemptManager]:
        """Retry a block: ``async for attempt in policy: with attempt: ...``."""
        return self.async_retrying().__aiter__()

    @overload
    def __call__(
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a function (async or not) so that its calls retry by this policy."""
        import tenacity  # noqa: PLC0415

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                retrying = tenacity.AsyncRetrying(**self._tenacity_kwargs())
                return await retrying(func, *args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def sync_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            return tenacity.Retrying(**self._tenacity_kwargs())(func, *args, **kwargs)

        return cast("Callable[P, Any]", sync_wrapper)


_RANDOM = random.Random()  # noqa: S311 - jitter needs spread, not secrecy
