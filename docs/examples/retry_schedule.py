"""The schedule of a RetryPolicy: exponential, capped, jittered, and a total deadline."""

from __future__ import annotations

from svckit import RetryPolicy

# --8<-- [start:schedule]
policy = RetryPolicy(attempts=6, initial_delay=0.5, multiplier=2, max_delay=5, jitter=0.25)

for attempt in range(1, policy.attempts):
    base = policy.base_delay(attempt)
    delay = policy.delay(attempt)  # random within [base * (1 - jitter), base]
    print(f"after try {attempt}: base {base:4.1f} s, waits {delay:4.2f} s")
    assert base * (1 - policy.jitter) <= delay <= base <= policy.max_delay

assert [policy.base_delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 5.0]
# --8<-- [end:schedule]


# --8<-- [start:filters]
class PaymentDeclinedError(ConnectionError):
    """Retrying will not change the bank's answer."""


payments = RetryPolicy(
    attempts=5,
    retry_on=(ConnectionError,),
    give_up_on=(PaymentDeclinedError,),  # wins over retry_on
    deadline=30,  # no new try starts 30 s after the first
)
assert payments.should_retry(ConnectionError("reset"), attempt=1)
assert not payments.should_retry(PaymentDeclinedError("declined"), attempt=1)
assert not payments.should_retry(ConnectionError("reset"), attempt=5)  # that was the last
# --8<-- [end:filters]
