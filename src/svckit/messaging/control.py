"""Control flow for handlers: ask for a retry later, or reject a message now.

::

    @consumer("payments.charge")
    async def charge(command: Charge) -> None:
        if gateway.rate_limited:
            raise RetryLater(after=30)          # try again in 30 s (counts as an attempt)
        if command.amount <= 0:
            raise Reject("amount must be positive")   # straight to dead letters
"""

from __future__ import annotations

__all__ = ["Reject", "RetryLater"]


class RetryLater(Exception):  # noqa: N818 - named for what the handler asks, like arq's Retry
    """Raised by a handler: try this message again after ``after`` seconds.

    It counts as an attempt, so a message that keeps asking still ends in dead letters
    once its policy's attempts are spent.
    """

    def __init__(self, after: float | None = None, reason: str = "") -> None:
        """Ask for another try after ``after`` seconds (the policy's delay when None)."""
        super().__init__(reason or f"retry requested after {after}s")
        if after is not None and after < 0:
            raise ValueError("after cannot be negative")
        self.after = after
        self.reason = reason


class Reject(Exception):  # noqa: N818 - named for what the handler asks
    """Raised by a handler: this message can never succeed; dead-letter it now."""

    def __init__(self, reason: str) -> None:
        """Reject with a ``reason`` that the dead letter carries."""
        super().__init__(reason)
        self.reason = reason
