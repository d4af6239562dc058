"""Topic patterns match as a RabbitMQ topic exchange does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svckit.messaging import topic_matches
from svckit.messaging.topics import validate_pattern


def reference(pattern: list[str], topic: list[str]) -> bool:
    """The plain recursive definition: '*' is one word, '#' is zero or more."""
    if not pattern:
        return not topic
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(reference(rest, topic[i:]) for i in range(len(topic) + 1))
    if not topic:
        return False
    return (head in {"*", topic[0]}) and reference(rest, topic[1:])


WORDS = st.sampled_from(["a", "b", "user", "created", "x-y", "ü"])
TOPICS = st.lists(WORDS, min_size=0, max_size=6)
PATTERNS = st.lists(st.one_of(WORDS, st.just("*"), st.just("#")), min_size=1, max_size=6)


@given(pattern=PATTERNS, topic=TOPICS)
def test_matching_agrees_with_the_reference(pattern: list[str], topic: list[str]) -> None:
    assert topic_matches(".".join(pattern), ".".join(topic)) == reference(pattern, topic)


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("user.*", "user.created", True),
        ("user.*", "user", False),
        ("user.#", "user", True),
        ("#", "anything.at.all", True),
        ("*.created", "user.profile.created", False),
        ("a.#.b", "a.b", True),
        ("a.#.b", "a.x.y.b", True),
        ("a.b", "a.bb", False),
        ("user.created", "user.created", True),
    ],
)
def test_examples(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


@pytest.mark.parametrize("pattern", ["", "a..b", "a.b*", "#a", "a.*x"])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        validate_pattern(pattern)
