"""Message models: topics on the class, plain JSON bodies, versions."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svckit.messaging import Command, Event, consumer
from svckit.messaging.consumer import bind_handler, spec_of


class UserCreated(Event, topic="user.created"):
    user_id: int
    email: str


class ProcessMedia(Command, topic="media.process", version=2):
    media_key: str


class Legacy(Event):
    topic: ClassVar[str] = "legacy.thing"


def test_topic_and_version_are_class_attributes() -> None:
    assert UserCreated.topic == "user.created"
    assert UserCreated.schema_version == 1
    assert ProcessMedia.schema_version == 2
    assert Legacy.topic == "legacy.thing"
    assert not UserCreated.requires_route
    assert ProcessMedia.requires_route


@pytest.mark.parametrize("topic", ["", "user.*", "user.#", "a..b"])
def test_a_topic_must_be_plain_words(topic: str) -> None:
    with pytest.raises(ValueError, match="topic"):

        class Bad(Event, topic=topic):
            pass


@given(user_id=st.integers(), email=st.text())
def test_the_wire_body_is_the_models_plain_json(user_id: int, email: str) -> None:
    event = UserCreated(user_id=user_id, email=email)
    body = event.__pydantic_serializer__.to_json(event)
    assert body == event.model_dump_json().encode()
    assert UserCreated.model_validate_json(body) == event


def test_a_consumer_without_patterns_binds_its_message_topic() -> None:
    @consumer()
    async def on_created(event: UserCreated) -> None:
        del event

    spec = spec_of(on_created)
    assert spec is not None
    bound = bind_handler(on_created, spec)
    assert bound.spec.patterns == ("user.created",)
    assert bound.name == "on_created"


def test_a_consumer_must_be_async_and_name_a_topic() -> None:
    def not_async(event: UserCreated) -> None:
        del event

    with pytest.raises(TypeError, match="async"):
        consumer()(not_async)  # type: ignore[type-var]

    @consumer()
    async def untyped(body: bytes) -> None:
        del body

    spec = spec_of(untyped)
    assert spec is not None
    with pytest.raises(TypeError, match="no topic"):
        bind_handler(untyped, spec)
