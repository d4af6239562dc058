"""Frames on svckit's RabbitMQ connections: lenient decoding in, measured encoding out.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module.

In: pamqp decodes every frame strictly, and a message whose properties it cannot decode
(a message id or header key that is not UTF-8, a timestamp past the year 9999) makes
aiormq's frame reader fail, which closes the connection; the message is redelivered
first and does it again. On svckit's connections, a frame pamqp refuses is decoded again
leniently: bad text is decoded with replacement characters, an impossible timestamp
becomes None, and the properties say what was wrong (`LenientProperties.malformed`), so
the message reaches svckit, which dead-letters it. The lenient decoder runs only after
pamqp refused a frame, and only on connections opened inside `FrameGuard.active`.

Out: `encode_properties` encodes a message's properties once and checks that the header
frame fits the connection's negotiated frame size; a frame larger than that would make
the broker close the connection.
"""

from __future__ import annotations

import contextlib
import contextvars
import struct
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, cast

import pamqp.frame
from pamqp import base, commands, constants, decode, header

from svckit.core.errors import PublishError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "HEADER_FRAME_OVERHEAD",
    "EncodedProperties",
    "FrameGuard",
    "LenientMethod",
    "LenientProperties",
    "encode_properties",
]

#: Bytes of a content header frame besides the properties: the frame header (7), the class
#: id, weight and body size (12) and the frame end (1).
HEADER_FRAME_OVERHEAD = 20
#: At most this many problems are listed in `LenientProperties.malformed`.
_PROBLEMS_LIMIT = 5
#: Tables and arrays nested deeper than this in headers are left out.
MAX_DEPTH = 32

Properties = commands.Basic.Properties


class EncodedProperties(Properties):
    """Message properties encoded once, so that aiormq sends these bytes as they are.

    No ``__slots__`` of its own: pamqp iterates ``self.__slots__`` as the property names.
    """

    encoded: bytes

    def marshal(self) -> bytes:
        """The bytes encoded when the properties were made."""
        return self.encoded


def encode_properties(max_bytes: int, **values: Any) -> EncodedProperties:
    """Encode the properties of a publish; refuse them if their frame would be too large.

    Raises:
        PublishError: the properties cannot be encoded, or are longer than ``max_bytes``.
    """
    if not values.get("message_id"):
        # aiormq would make one up after the encoding; the publish's return needs it.
        values["message_id"] = uuid.uuid4().hex
    try:
        properties = EncodedProperties(**values)
        properties.encoded = Properties.marshal(properties)
    except (TypeError, ValueError, OverflowError, struct.error) as exc:
        raise PublishError(f"the message's properties cannot be encoded: {exc}"[:300]) from exc
    size = len(properties.encoded)
    if size > max_bytes:
        raise PublishError(
            f"the message's properties and headers take {size} bytes encoded, more than the "
            f"{max_bytes} the connection's frame size allows",
        )
    return properties


# ---------------------------------------------------------------------- lenient decoding


class LenientProperties(Properties):
    """Properties that pamqp could not decode, decoded leniently; ``malformed`` says why."""

    malformed: str


class LenientMethod:
    """Mixed into a method frame decoded leniently (a routing key that is not UTF-8)."""

    malformed: str


class FrameGuard:
    """Decodes leniently on the connections opened inside `active`; remembers failures.

    Attributes:
        failed_channel: The channel of the last frame that could not be decoded even
            leniently (the connection was lost over it), or None.
    """

    _current: ClassVar[contextvars.ContextVar[FrameGuard | None]] = contextvars.ContextVar(
        "svckit_amqp_frame_guard", default=None
    )

    def __init__(self) -> None:
        """A guard for one connection (and its reconnects)."""
        self.failed_channel: int | None = None
        _install()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Connections opened (and reopened) from inside this block use this guard.

        aiormq reads each connection in a task of its own, which inherits the context it
        was created in: the guard follows the connection through its reconnects.
        """
        token = self._current.set(self)
        try:
            yield
        finally:
            self._current.reset(token)

    def recover(self, data: bytes, error: Exception) -> tuple[int, int, Any]:
        """Decode a frame pamqp refused, or raise ``error`` and remember its channel."""
        frame_type, channel, size = pamqp.frame.frame_parts(data)
        try:
            payload = data[constants.FRAME_HEADER_SIZE : constants.FRAME_HEADER_SIZE + (size or 0)]
            if frame_type == constants.FRAME_HEADER:
                return len(data), channel, _lenient_header(payload)
            if frame_type == constants.FRAME_METHOD:
                method = _lenient_method(payload)
                if method is not None:
                    return len(data), channel, method
        except Exception:  # noqa: BLE001, S110 - not even leniently: the original error stands
            pass
        self.failed_channel = channel
        raise error


_strict_unmarshal = pamqp.frame.unmarshal


def _unmarshal(data_in: bytes) -> tuple[int, int, Any]:
    try:
        return _strict_unmarshal(data_in)
    except Exception as exc:  # pamqp raises more than its own exception (OverflowError)
        guard = FrameGuard._current.get()  # noqa: SLF001 - the class's own variable
        if guard is None:
            raise
        return guard.recover(data_in, exc)


def _install() -> None:
    # aiormq calls ``pamqp.frame.unmarshal`` by its module attribute; other users of pamqp
    # see no change, as nothing differs outside a guard.
    if pamqp.frame.unmarshal is not _unmarshal:
        pamqp.frame.unmarshal = _unmarshal


class _Problems(list[str]):
    def note(self, problem: str) -> None:
        if len(self) < _PROBLEMS_LIMIT and problem not in self:
            self.append(problem)


def _shortstr(data: bytes, problems: _Problems, what: str) -> tuple[int, str]:
    length = data[0]
    raw = data[1 : length + 1]
    try:
        return length + 1, raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.note(f"{what} is not valid UTF-8")
        return length + 1, raw.decode("utf-8", "replace")


def _timestamp(data: bytes, problems: _Problems, what: str) -> tuple[int, Any]:
    try:
        return decode.timestamp(data)
    except (ValueError, OverflowError, OSError):
        problems.note(f"{what} is out of range")
        return 8, None


def _table(
    data: bytes, problems: _Problems, what: str, depth: int = 0
) -> tuple[int, dict[str, Any]]:
    length = struct.unpack_from(">I", data)[0]
    end = 4 + length
    if end > len(data):
        raise ValueError("field table length exceeds the frame")
    offset, table = 4, {}
    while offset < end:
        consumed, key = _shortstr(data[offset:], problems, f"a key in {what}")
        offset += consumed
        # Name only the outermost key: a problem's text stays short however deep it is.
        inner = f"{what}[{key[:40]!r}]" if depth == 0 else what
        consumed, table[key] = _value(data[offset:end], problems, inner, depth + 1)
        offset += consumed
    return end, table


def _array(data: bytes, problems: _Problems, what: str, depth: int) -> tuple[int, list[Any]]:
    length = struct.unpack_from(">I", data)[0]
    end = 4 + length
    if end > len(data):
        raise ValueError("field array length exceeds the frame")
    offset, items = 4, []
    while offset < end:
        consumed, item = _value(data[offset:end], problems, what, depth + 1)
        offset += consumed
        items.append(item)
    return end, items


def _value(data: bytes, problems: _Problems, what: str, depth: int) -> tuple[int, Any]:
    kind = data[0:1]
    if kind in {b"F", b"A"} and depth >= MAX_DEPTH:
        # pamqp recurses once a level (a hostile table nests thousands deep): left out.
        problems.note(f"{what} nests deeper than {MAX_DEPTH} levels (left out)")
        length = struct.unpack_from(">I", data, 1)[0]
        return 5 + length, None
    if kind == b"T":
        consumed, value = _timestamp(data[1:], problems, what)
    elif kind == b"F":
        consumed, value = _table(data[1:], problems, what, depth)
    elif kind == b"A":
        consumed, value = _array(data[1:], problems, what, depth)
    else:
        consumed, value = decode.embedded_value(data)
        return consumed, value
    return consumed + 1, value


def _field(data: bytes, kind: str, problems: _Problems, what: str) -> tuple[int, Any]:
    if kind == "shortstr":
        return _shortstr(data, problems, what)
    if kind == "timestamp":
        return _timestamp(data, problems, what)
    if kind == "table":
        return _table(data, problems, what)
    return decode.by_type(data, kind)


def _lenient_header(payload: bytes) -> header.ContentHeader:
    class_id, weight, body_size = struct.unpack(">HHQ", payload[0:12])
    offset, flags = header.ContentHeader._get_flags(payload[12:])  # noqa: SLF001
    data = payload[12 + offset :]
    properties = LenientProperties()
    problems = _Problems()
    for name in Properties.__slots__:
        if flags & Properties.flags[name]:
            kind = getattr(Properties, "_" + name)
            consumed, value = _field(data, kind, problems, name)
            setattr(properties, name, value)
            data = data[consumed:]
    properties.malformed = "; ".join(problems) or "undecodable properties"
    frame = header.ContentHeader(weight, body_size, properties)
    frame.class_id = class_id
    return frame


def _lenient_method(payload: bytes) -> base.Frame | None:
    """A method frame whose text is not UTF-8 (a routing key, say), or None if unknown.

    Decoded as pamqp's `base.Frame.unmarshal` does, field by field in the order of
    ``__slots__``, with consecutive bits packed in octets.
    """
    kind: Any = commands.INDEX_MAPPING.get(struct.unpack_from(">I", payload)[0])
    if kind is None:
        return None
    method: Any = _lenient_class(kind)()
    problems = _Problems()
    data, bit, in_bits = payload[4:], 0, False
    for name in kind.__slots__:
        field_type = kind.amqp_type(name)
        if in_bits and (field_type != "bit" or bit == 8):  # noqa: PLR2004 - bits in an octet
            data, bit, in_bits = data[1:], 0, False
        if field_type == "bit":
            value, consumed = bool(data[0] & (1 << bit)), 0
            bit, in_bits = bit + 1, True
        else:
            consumed, value = _field(data, field_type, problems, f"the {name.replace('_', ' ')}")
        setattr(method, name, value)
        data = data[consumed:]
    method.malformed = "; ".join(problems) or f"undecodable {kind.name}"
    return cast("base.Frame", method)


_LENIENT_CLASSES: dict[type[base.Frame], type[base.Frame]] = {}


def _lenient_class(kind: type[base.Frame]) -> type[base.Frame]:
    """``kind`` with room for ``malformed`` (and still matched as ``kind`` by aiormq)."""
    lenient = _LENIENT_CLASSES.get(kind)
    if lenient is None:
        lenient = type(f"Lenient{kind.__name__}", (kind, LenientMethod), {})
        _LENIENT_CLASSES[kind] = lenient
    return lenient
