"""RetryPolicy around a block of code, and what is raised when every try fails."""

from __future__ import annotations

import asyncio

from svckit import RetryPolicy

policy = RetryPolicy(attempts=3, initial_delay=0.01, retry_on=(ConnectionError,))
sent: list[str] = []


async def send(payload: str) -> None:
    sent.append(payload)
    if sent == [payload]:  # the first try fails
        raise ConnectionError("broker connection reset")


# --8<-- [start:block]
async def deliver(payload: str) -> None:
    async for attempt in policy:
        with attempt:
            await send(payload)


# --8<-- [end:block]


# --8<-- [start:last-error]
async def always_down() -> None:
    number = 0
    async for attempt in policy:
        with attempt:
            number += 1
            raise ConnectionError(f"try {number} failed")


async def main() -> None:
    await deliver("hello")
    assert sent == ["hello", "hello"]  # failed once, then succeeded

    try:
        await always_down()
    except ConnectionError as exc:
        # The last error itself, not a wrapper: `except` clauses keep working.
        error = exc
    print(f"gave up: {error}")
    assert str(error) == "try 3 failed"


asyncio.run(main())
# --8<-- [end:last-error]
