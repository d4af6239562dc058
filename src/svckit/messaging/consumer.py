"""Consumers: handlers of messages from the bus, declared with `consumer`.

::

    @consumer("user.*", retry=RetryPolicy(attempts=5), idempotent=True)
    async def notify(event: UserChanged) -> None:
        ...

The first parameter's annotation says what the handler takes: a `Message` model (the
body is validated into it), ``dict`` (any JSON object), ``bytes`` (the raw body) or any
type pydantic can validate. A second parameter annotated `Incoming` receives the
message's metadata. Without patterns, the queue binds the model's own topic.
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core.core_schema import ErrorType

from svckit.core.errors import DecodeError
from svckit.core.retry import RetryPolicy
from svckit.messaging.message import Message
from svckit.messaging.topics import validate_pattern
from svckit.messaging.transport import Headers, QueueType

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from datetime import datetime

__all__ = ["ConsumerSpec", "Incoming", "consumer"]

F = TypeVar("F", bound="Callable[..., Awaitable[None]]")

#: The default broker-level retry: 3 tries, waiting 0.5-1 s, then 1-2 s (jittered).
DEFAULT_RETRY = RetryPolicy(attempts=3, initial_delay=1.0, max_delay=300.0)

SPEC_ATTRIBUTE = "__svckit_consumer__"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A received message's metadata, for handlers that ask for it.

    Attributes:
        body: The body, its content encoding (gzip, deflate) undone.
        topic: The routing key it was published with.
        message_id: Its unique id (deduplication key).
        attempt: 1 on the first try, then 2, 3... on retries.
        redelivered: The broker delivered it before (a consumer died holding it).
        headers: All AMQP headers, trace context included.
        correlation_id: The correlation id, if any.
        timestamp: When it was published, if the publisher said.
    """

    body: bytes
    topic: str
    message_id: str | None
    attempt: int
    redelivered: bool
    headers: Mapping[str, Any]
    correlation_id: str | None
    timestamp: datetime | None

    @property
    def request_id(self) -> str | None:
        """The request id that caused this message, if the publisher carried one."""
        value = self.headers.get(Headers.REQUEST_ID)
        # Foreign: only a short line of printable text counts as a request id.
        if isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():  # noqa: PLR2004
            return value
        return None


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """How a consumer is wired: what the `consumer` decorator records.

    Attributes:
        patterns: Topic patterns the queue binds (``*`` one word, ``#`` any number).
        name: The consumer's name; the queue is ``<service>.<name>``.
        retry: How failed messages are retried before they are dead-lettered.
        idempotent: Skip message ids already processed, using the bus's inbox.
        prefetch: How many unacknowledged messages the broker may hand over at once.
        concurrency: How many handlers run at once (at most ``prefetch``).
        queue_type: Quorum (default) or classic.
        delivery_limit: Deliveries after which the broker dead-letters a message that
            keeps crashing its consumer (quorum queues).
        idempotency_ttl: Seconds a processed message id is remembered.
        idempotency_lease: Seconds an idempotent consumer's claim on a message id lasts
            unless renewed; it is renewed every third of that while the handler runs,
            and it is how long a redelivered message waits after its consumer died.
    """

    patterns: tuple[str, ...] = ()
    name: str | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    idempotent: bool = False
    prefetch: int = 64
    concurrency: int | None = None
    queue_type: QueueType = QueueType.QUORUM
    delivery_limit: int = 20
    idempotency_ttl: float = 7 * 24 * 3600
    idempotency_lease: float = 30.0

    def __post_init__(self) -> None:
        """Check the numbers and patterns."""
        for pattern in self.patterns:
            validate_pattern(pattern)
        if self.prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        if self.concurrency is not None and not 1 <= self.concurrency <= self.prefetch:
            raise ValueError("concurrency must be between 1 and prefetch")
        if self.delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        if not self.idempotency_lease > 0:
            raise ValueError("idempotency_lease must be positive")


def consumer(
    *patterns: str,
    name: str | None = None,
    retry: RetryPolicy | None = None,
    idempotent: bool = False,
    prefetch: int = 64,
    concurrency: int | None = None,
    queue_type: QueueType | str = QueueType.QUORUM,
    delivery_limit: int = 20,
    idempotency_ttl: float = 7 * 24 * 3600,
    idempotency_lease: float = 30.0,
) -> Callable[[F], F]:
    """Mark an async function or method as a message consumer.

    The function is returned unchanged, so it can still be called directly in tests.

    Args:
        *patterns: Topic patterns to bind; by default the handler's message topic.
        name: The consumer's name (the function's name by default).
        retry: The retry policy (3 tries, 1 s then about 2 s apart, by default).
        idempotent: Skip messages whose id was already processed.
        prefetch: Unacknowledged messages the broker may hand over at once.
        concurrency: Handlers running at once (``prefetch`` by default).
        queue_type: ``"quorum"`` (replicated; default) or ``"classic"``.
        delivery_limit: Deliveries before the broker dead-letters a message that keeps
            crashing the process.
        idempotency_ttl: Seconds a processed id is remembered.
        idempotency_lease: Seconds a claim on a message id lasts unless renewed (it is
            renewed while the handler runs); a message whose consumer died waits this
            long before another consumer takes it.
    """
    spec = ConsumerSpec(
        patterns=patterns,
        name=name,
        retry=retry or DEFAULT_RETRY,
        idempotent=idempotent,
        prefetch=prefetch,
        concurrency=concurrency,
        queue_type=QueueType(queue_type),
        delivery_limit=delivery_limit,
        idempotency_ttl=idempotency_ttl,
        idempotency_lease=idempotency_lease,
    )

    def mark(func: F) -> F:
        if not inspect.iscoroutinefunction(getattr(func, "__func__", func)):
            raise TypeError(f"consumer {func.__qualname__} must be an async function")
        setattr(func, SPEC_ATTRIBUTE, spec)
        return func

    return mark


def spec_of(func: Callable[..., Any]) -> ConsumerSpec | None:
    """The `ConsumerSpec` recorded on a function by `consumer`, if any."""
    return getattr(func, SPEC_ATTRIBUTE, None)


@dataclass(frozen=True, slots=True)
class BoundHandler:
    """A handler with what it takes worked out once: how to decode, what to pass."""

    func: Callable[..., Awaitable[None]]
    spec: ConsumerSpec
    name: str
    decode: Callable[[bytes], Any]
    message_type: Any
    wants_incoming: bool
    takes_only_incoming: bool


def bind_handler(func: Callable[..., Awaitable[None]], spec: ConsumerSpec) -> BoundHandler:
    """Inspect ``func``'s signature and fill in the spec's defaults (name, patterns)."""
    target = func.func if isinstance(func, functools.partial) else func
    target = getattr(target, "__func__", target)
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in {p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD}
    ]
    if not params or len(params) > 2:  # noqa: PLR2004 - message, then metadata
        raise TypeError(
            f"consumer {target.__qualname__} must take the message, and optionally Incoming",
        )
    # Only the message's annotation is evaluated: injected keyword-only parameters may be
    # annotated with names that exist for type checkers only.
    message_type = _annotation(target, params[0])
    takes_only_incoming = message_type is Incoming
    wants_incoming = len(params) == 2 or takes_only_incoming  # noqa: PLR2004
    patterns = spec.patterns
    if not patterns:
        topic = getattr(message_type, "topic", "")
        if not (isinstance(message_type, type) and issubclass(message_type, Message) and topic):
            raise TypeError(
                f"consumer {target.__qualname__} names no topic pattern and its message "
                "type declares no topic",
            )
        patterns = (topic,)
    name = spec.name or target.__name__
    return BoundHandler(
        func=func,
        spec=replace(spec, patterns=patterns, name=name),
        name=name,
        decode=_decoder(message_type),
        message_type=message_type,
        wants_incoming=wants_incoming,
        takes_only_incoming=takes_only_incoming,
    )


def _annotation(target: Any, param: inspect.Parameter) -> Any:
    annotation = param.annotation
    if annotation is inspect.Parameter.empty:
        return bytes
    if isinstance(annotation, str):
        try:
            namespace = getattr(target, "__globals__", {})
            annotation = eval(annotation, namespace)  # noqa: S307 - the handler's own annotation
        except NameError as exc:
            raise TypeError(
                f"cannot resolve the message type {annotation!r} of consumer "
                f"{target.__qualname__}: {exc}; import it at module level",
            ) from exc
    return annotation


def _decoder(message_type: Any) -> Callable[[bytes], Any]:
    if message_type is bytes or message_type is Incoming:
        return _raw
    if message_type is dict or typing.get_origin(message_type) is dict:
        return _json_object
    validate: Callable[[bytes], Any]
    if isinstance(message_type, type) and issubclass(message_type, Message):
        validate = message_type.model_validate_json
    else:
        validate = TypeAdapter(message_type).validate_json

    def decode(body: bytes) -> Any:
        try:
            return validate(body)
        except ValidationError as exc:
            # `from None`: the ValidationError's own text shows the input values.
            raise DecodeError(validation_summary(exc)) from None
        except Exception as exc:  # noqa: BLE001 - any failure to read the body is poison
            raise _unreadable(exc) from None

    return decode


def reads_json(handler: BoundHandler) -> bool:
    """Whether ``handler`` takes the body decoded from JSON (not the raw bytes)."""
    return handler.decode is not _raw


def _raw(body: bytes) -> bytes:
    return body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except Exception as exc:  # noqa: BLE001 - any failure to read the body is poison
        raise _unreadable(exc) from None
    if not isinstance(value, dict):
        raise DecodeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _unreadable(exc: Exception) -> DecodeError:
    # Only what says where, never what: a JSON error's position, not the text around it.
    if isinstance(exc, RecursionError):
        return DecodeError("body is not readable JSON: nested too deeply")
    if isinstance(exc, json.JSONDecodeError):
        return DecodeError(f"body is not JSON: {exc.msg} at position {exc.pos}")
    if isinstance(exc, UnicodeError):
        return DecodeError("body is not JSON: not valid UTF-8 (or UTF-16/32) text")
    return DecodeError(f"body is not readable JSON: {type(exc).__name__}")


def validation_summary(exc: ValidationError) -> str:
    """A validation error's field locations and what is wrong, never the input values.

    pydantic's message is kept where it cannot quote the input (``Field required``,
    ``Input should be a valid integer``); otherwise (a custom validator's message, which
    may quote the value) the error type stands in for it.
    """
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for error in errors[:10]:
        where = ".".join(str(loc) for loc in error["loc"])[:100] or "<body>"
        kind = error["type"]
        parts.append(f"{where}: {error['msg'] if kind in _PLAIN_MESSAGES else kind}")
    return f"{exc.error_count()} validation error(s): " + "; ".join(parts)


# pydantic's own error types whose message says nothing of the input; the others carry a
# user's text (value_error, assertion_error: a validator's message), the input's tag or an
# exception's text, and custom error types say anything.
_PLAIN_MESSAGES = frozenset(typing.get_args(ErrorType)) - {
    "value_error",
    "assertion_error",
    "union_tag_invalid",
    "get_attribute_error",
}
