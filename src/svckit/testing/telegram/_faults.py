"""Faults the fake Telegram server injects into its answers, by method and by chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Fault", "FaultKind"]

#: What a fault does to a request it matches.
FaultKind = Literal["retry_after", "server_error", "slow", "drop"]


@dataclass
class Fault:
    """One injected fault: what it does and which requests it matches.

    Attributes:
        kind: ``retry_after`` answers 429 with ``parameters.retry_after``;
            ``server_error`` answers ``status`` (5xx); ``slow`` answers after ``delay``
            seconds (then normally); ``drop`` closes the connection without an answer.
        method: The Bot API method it matches (case-insensitive), or any when ``None``.
        chat_id: The ``chat_id`` it matches, or any when ``None``.
        times: How many requests it hits before it is spent; ``None`` is every one.
        retry_after: Seconds a 429 tells the bot to wait.
        status: The status of a ``server_error``.
        delay: Seconds a ``slow`` answer waits.
        hits: How many requests it has hit so far.
    """

    kind: FaultKind
    method: str | None = None
    chat_id: int | str | None = None
    times: int | None = 1
    retry_after: int = 1
    status: int = 500
    delay: float = 1.0
    hits: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        """Whether this fault, not yet spent, applies to a call of ``method`` for ``chat_id``."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)
