"""Topic patterns with AMQP semantics: ``*`` matches one word, ``#`` zero or more."""

from __future__ import annotations

import functools
import re

__all__ = ["topic_matches", "validate_pattern"]


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid binding pattern, else raise ValueError."""
    if not pattern:
        raise ValueError("a topic pattern cannot be empty")
    if len(pattern.encode()) > 255:  # noqa: PLR2004 - AMQP's short-string limit
        raise ValueError("a topic pattern is at most 255 bytes long")
    for word in pattern.split("."):
        if not word:
            raise ValueError(f"pattern {pattern!r} has an empty word")
        if ("*" in word or "#" in word) and word not in {"*", "#"}:
            raise ValueError(f"in pattern {pattern!r}, a wildcard must be a whole word")
    return pattern


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    # Matched against the topic with a dot before every word ("a.b" -> ".a.b", "" -> ""),
    # so each word of the pattern is one self-contained piece of regex.
    pieces = {"*": r"\.[^.]*", "#": r"(?:\.[^.]*)*"}
    return re.compile(
        "".join(pieces.get(word) or r"\." + re.escape(word) for word in pattern.split(".")),
    )


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` matches the binding ``pattern`` as a RabbitMQ topic exchange does.

    Example:
        >>> topic_matches("user.*", "user.created")
        True
        >>> topic_matches("user.#", "user")
        True
        >>> topic_matches("*.created", "user.profile.created")
        False
    """
    return _compile(pattern).fullmatch("." + topic if topic else "") is not None
