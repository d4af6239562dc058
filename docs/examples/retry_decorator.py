"""RetryPolicy as a decorator, on async and plain functions."""

from __future__ import annotations

import asyncio
import contextlib

from svckit import RetryPolicy

failures = {"rates": 2, "config": 1}
RATES = {"EUR": 1.08, "GBP": 1.27}

# --8<-- [start:policy]
network = RetryPolicy(
    attempts=4,  # tries in all, the first included
    initial_delay=0.01,  # seconds before the second try; doubles each time
    max_delay=0.1,  # the cap on one delay
    jitter=0.5,  # each delay is cut by up to half, at random
    retry_on=(ConnectionError, TimeoutError),
)
# --8<-- [end:policy]


# --8<-- [start:decorator]
@network
async def fetch_rate(currency: str) -> float:
    if failures["rates"] > 0:
        failures["rates"] -= 1
        raise ConnectionError("rates service unreachable")
    return RATES[currency]


@network
def read_config(path: str) -> str:
    if failures["config"] > 0:
        failures["config"] -= 1
        raise TimeoutError(f"{path}: no answer")
    return "debug = false"


assert asyncio.run(fetch_rate("EUR")) == RATES["EUR"]  # third try
assert read_config("/etc/app.toml") == "debug = false"  # second try
# --8<-- [end:decorator]

# --8<-- [start:not-retried]
calls = 0


@network
async def fetch_unknown(currency: str) -> float:
    global calls  # noqa: PLW0603 - counts calls for the example
    calls += 1
    raise KeyError(currency)  # not in retry_on: raised at once


with contextlib.suppress(KeyError):
    asyncio.run(fetch_unknown("XYZ"))
assert calls == 1
# --8<-- [end:not-retried]
print("fetch_rate and read_config succeeded after retries; KeyError was not retried")
