"""Message models: events say something happened, commands ask for work.

A message is a pydantic model whose topic (the routing key) is declared on the class::

    class UserCreated(Event, topic="user.created"):
        user_id: int
        email: str

    class ProcessMedia(Command, topic="media.process", version=2):
        media_key: str

On the wire the body is the model's plain JSON, so any AMQP client can read it; metadata
travels in AMQP properties and headers (see `svckit.messaging.Incoming`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Command", "Event", "Message"]


class Message(BaseModel):
    """The base of events and commands; subclass `Event` or `Command` instead.

    Attributes:
        topic: The routing key messages of this class are published with.
        schema_version: The version of the body's shape, sent in a header so that
            consumers can tell old messages from new ones.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    #: Whether publishing requires at least one queue to receive the message.
    requires_route: ClassVar[bool] = False

    def __init_subclass__(
        cls,
        *,
        topic: str | None = None,
        version: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Take ``topic`` and ``version`` as class keywords."""
        super().__init_subclass__(**kwargs)
        if topic is not None:
            _check_topic(topic)
            cls.topic = topic
        if version is not None:
            if version < 1:
                raise ValueError("a schema version starts at 1")
            cls.schema_version = version


class Event(Message):
    """Something that happened (``user.created``); it may have no subscriber at all."""


class Command(Message):
    """A request for work (``media.process``); publishing one that no queue receives fails."""

    requires_route: ClassVar[bool] = True


def _check_topic(topic: str) -> None:
    if not topic or len(topic.encode()) > 255:  # noqa: PLR2004 - AMQP's short-string limit
        raise ValueError("a topic is 1 to 255 bytes long")
    if any(word in {"*", "#"} or not word for word in topic.split(".")):
        raise ValueError(
            f"topic {topic!r} must be dot-separated non-empty words without wildcards",
        )
