"""A foreign AMQP 0-9-1 client for the fuzz tests: an asyncio socket, not aio-pika or aiormq.

It speaks just enough of the protocol to publish what a hostile or careless client would:
the handshake (protocol header, ``Start``/``StartOk`` with PLAIN, ``Tune``/``TuneOk``
without heartbeats, ``Open``), one channel in confirm mode, ``basic.publish``,
``basic.get``, passive ``queue.declare`` and deletes.

pamqp marshals the method frames, which are valid by construction. The content header (a
message's properties and headers) is built here byte by byte, so it can carry what pamqp's
encoder refuses: invalid UTF-8 in short strings and in table keys, timestamps past year
9999, infinities, tables nested thousands deep, headers as large as the frame. Reading
goes the other way round, tolerantly: strings that are not UTF-8 come back as bytes,
timestamps as integers, and nesting deeper than `MAX_DEPTH` as a placeholder.

A field value is a pair ``(type, value)`` with the AMQP type octet as a one-character
string: ``("S", b"...")`` is a long string, ``("d", float("inf"))`` a double, ``("F",
[(key, value), ...])`` a table, ``("A", [value, ...])`` an array, and ``("raw", b"...")``
is put on the wire as it is (type octet included).
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pamqp import commands, frame
from pamqp.header import ProtocolHeader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pamqp.base import Frame

FieldValue = tuple[str, Any]

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = b"\xce"
BASIC_CLASS = 60
#: Deeper tables and arrays are skipped (their length prefix says how far) when reading.
MAX_DEPTH = 64

#: The basic class's properties in wire order; flag bit ``15 - index`` says one is present.
#: Types: ``s`` short string, ``F`` table, ``o`` octet, ``L`` 64-bit timestamp.
PROPERTIES = (
    ("content_type", "s"),
    ("content_encoding", "s"),
    ("headers", "F"),
    ("delivery_mode", "o"),
    ("priority", "o"),
    ("correlation_id", "s"),
    ("reply_to", "s"),
    ("expiration", "s"),
    ("message_id", "s"),
    ("timestamp", "L"),
    ("type", "s"),
    ("user_id", "s"),
    ("app_id", "s"),
    ("cluster_id", "s"),
)

_FIXED = {
    "t": struct.Struct(">?"),
    "b": struct.Struct(">b"),
    "B": struct.Struct(">B"),
    "s": struct.Struct(">h"),
    "u": struct.Struct(">H"),
    "I": struct.Struct(">i"),
    "i": struct.Struct(">I"),
    "l": struct.Struct(">q"),
    "L": struct.Struct(">Q"),
    "f": struct.Struct(">f"),
    "d": struct.Struct(">d"),
    "T": struct.Struct(">Q"),
}


def _raw(text: bytes | str) -> bytes:
    return text.encode() if isinstance(text, str) else text


def short_string(text: bytes | str) -> bytes:
    """A short string: one length octet and up to 255 bytes, UTF-8 or not."""
    data = _raw(text)
    return bytes([len(data)]) + data


def encode_value(value: FieldValue) -> bytes:  # noqa: PLR0911 - a return per type
    """A field value with its type octet."""
    kind, item = value
    if kind == "raw":
        return bytes(item)
    if kind in _FIXED:
        return kind.encode() + _FIXED[kind].pack(item)
    if kind in {"S", "x"}:
        data = _raw(item)
        return kind.encode() + struct.pack(">I", len(data)) + data
    if kind == "F":
        return b"F" + encode_table(item)
    if kind == "A":
        items = b"".join(encode_value(v) for v in item)
        return b"A" + struct.pack(">I", len(items)) + items
    if kind == "D":
        scale, digits = item
        return b"D" + struct.pack(">Bi", scale, digits)
    if kind == "V":
        return b"V"
    raise ValueError(f"unknown field type {kind!r}")


def encode_table(items: Sequence[tuple[bytes | str, FieldValue]]) -> bytes:
    """A field table: its byte length, then each key (a short string) and value."""
    data = b"".join(short_string(key) + encode_value(value) for key, value in items)
    return struct.pack(">I", len(data)) + data


def nested_table(depth: int, leaf: FieldValue = ("l", 1)) -> FieldValue:
    """A table holding a table ``depth`` levels deep, built without recursion."""
    data = b"".join([b"\x04leaf", encode_value(leaf)])
    for _ in range(depth):
        data = b"\x01n" + b"F" + struct.pack(">I", len(data)) + data
    return ("raw", b"F" + struct.pack(">I", len(data)) + data)


def content_header(body_size: int, properties: dict[str, Any]) -> bytes:
    """The payload of a content-header frame: class 60, weight 0, size, flags, properties.

    Short strings may be bytes (sent as they are) or text; ``headers`` is a list of
    ``(key, value)`` pairs or an already encoded table; ``timestamp`` is any 64-bit integer.
    """
    flags, parts = 0, []
    for index, (name, kind) in enumerate(PROPERTIES):
        if properties.get(name) is None:
            continue
        value = properties[name]
        flags |= 1 << (15 - index)
        if kind == "s":
            parts.append(short_string(value))
        elif kind == "o":
            parts.append(bytes([value]))
        elif kind == "L":
            parts.append(struct.pack(">Q", value))
        else:
            parts.append(value if isinstance(value, bytes) else encode_table(value))
    return struct.pack(">HHQH", BASIC_CLASS, 0, body_size, flags) + b"".join(parts)


# ---------------------------------------------------------------------- reading


def _text(data: bytes) -> str | bytes:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data


def decode_value(data: bytes, offset: int, depth: int = 0) -> tuple[Any, int]:  # noqa: PLR0911
    """Read one field value at ``offset``; return it and the offset after it."""
    kind = chr(data[offset])
    offset += 1
    if kind in _FIXED:
        codec = _FIXED[kind]
        return codec.unpack_from(data, offset)[0], offset + codec.size
    if kind in {"V", "\x00"}:
        return None, offset
    if kind == "D":
        scale, digits = struct.unpack_from(">Bi", data, offset)
        return (scale, digits), offset + 5
    (length,) = struct.unpack_from(">I", data, offset)
    start, end = offset + 4, offset + 4 + length
    if kind == "S":
        return _text(data[start:end]), end
    if kind == "x":
        return data[start:end], end
    if depth >= MAX_DEPTH:
        return f"<{kind} nested deeper than {MAX_DEPTH}>", end
    if kind == "F":
        return decode_table_items(data, start, end, depth + 1), end
    if kind == "A":
        values, position = [], start
        while position < end:
            value, position = decode_value(data, position, depth + 1)
            values.append(value)
        return values, end
    raise ValueError(f"unknown field type {kind!r} at {offset - 1}")


def decode_table_items(data: bytes, start: int, end: int, depth: int = 0) -> dict[Any, Any]:
    """The table between ``start`` and ``end``; keys that are not UTF-8 stay bytes."""
    table: dict[Any, Any] = {}
    position = start
    while position < end:
        size = data[position]
        key = _text(data[position + 1 : position + 1 + size])
        table[key], position = decode_value(data, position + 1 + size, depth)
    return table


def parse_content_header(payload: bytes) -> tuple[int, dict[str, Any]]:
    """Read a content-header payload: the body size and the properties present."""
    _class, _weight, body_size, flags = struct.unpack_from(">HHQH", payload)
    position, properties = 14, dict[str, Any]()
    for index, (name, kind) in enumerate(PROPERTIES):
        if not flags & (1 << (15 - index)):
            continue
        if kind == "s":
            size = payload[position]
            properties[name] = _text(payload[position + 1 : position + 1 + size])
            position += 1 + size
        elif kind == "o":
            properties[name] = payload[position]
            position += 1
        elif kind == "L":
            properties[name] = struct.unpack_from(">Q", payload, position)[0]
            position += 8
        else:
            (length,) = struct.unpack_from(">I", payload, position)
            end = position + 4 + length
            properties[name] = decode_table_items(payload, position + 4, end)
            position = end
    return body_size, properties


# ---------------------------------------------------------------------- the client


class ConnectionClosedError(Exception):
    """The broker closed the connection (it refused a frame, say)."""


@dataclass
class Message:
    """A message taken with `RawAmqp.get`."""

    routing_key: str
    redelivered: bool
    body: bytes
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[Any, Any]:
        """The application headers (empty when there are none)."""
        return dict(self.properties.get("headers") or {})


class RawAmqp:
    """One connection with one channel (number 1) in confirm mode."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Wrap an open socket; use `RawAmqp.connect`."""
        self._reader = reader
        self._writer = writer
        self.frame_max = 131_072

    @classmethod
    async def connect(
        cls,
        host: str = "127.0.0.1",
        port: int = 5672,
        user: str = "guest",
        password: str = "guest",  # noqa: S107 - the broker's own test account
    ) -> RawAmqp:
        """Open a connection to the default vhost and a channel in confirm mode."""
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer)
        writer.write(ProtocolHeader().marshal())
        await client._expect(commands.Connection.Start)
        response = f"\0{user}\0{password}"
        client._send(0, commands.Connection.StartOk(client_properties={}, response=response))
        tune = await client._expect(commands.Connection.Tune)
        client.frame_max = tune.frame_max or client.frame_max
        client._send(0, commands.Connection.TuneOk(tune.channel_max, client.frame_max, 0))
        client._send(0, commands.Connection.Open(virtual_host="/"))
        await client._expect(commands.Connection.OpenOk)
        await client._open_channel()
        return client

    async def close(self) -> None:
        """Close the connection (politely if the broker still listens)."""
        if not self._writer.is_closing():
            try:
                self._send(0, commands.Connection.Close(200, "bye", 0, 0))
                await asyncio.wait_for(self._expect(commands.Connection.CloseOk), 5)
            except (ConnectionClosedError, OSError, TimeoutError):
                pass
            self._writer.close()

    async def publish(
        self, exchange: str, routing_key: str, body: bytes, properties: dict[str, Any]
    ) -> str | None:
        """Publish and wait for the confirm; return None, or why the broker refused it.

        A refusal that closed the channel opens a new one; one that closed the
        connection raises `ConnectionClosedError`.
        """
        return await self.publish_header(
            exchange, routing_key, body, content_header(len(body), properties)
        )

    async def publish_header(
        self, exchange: str, routing_key: str, body: bytes, header: bytes
    ) -> str | None:
        """`publish` with a content-header payload made by the caller (any bytes)."""
        frames = [
            frame.marshal(commands.Basic.Publish(exchange=exchange, routing_key=routing_key), 1),
            _frame(FRAME_HEADER, 1, header),
        ]
        step = self.frame_max - 8
        frames.extend(_frame(FRAME_BODY, 1, body[i : i + step]) for i in range(0, len(body), step))
        self._writer.write(b"".join(frames))
        reply = await self._reply()
        if isinstance(reply, commands.Basic.Ack):
            return None
        if isinstance(reply, commands.Basic.Nack):
            return "nacked by the broker"
        if isinstance(reply, commands.Channel.Close):
            return f"channel closed: {reply.reply_code} {reply.reply_text}"
        raise AssertionError(f"unexpected reply to a publish: {reply!r}")

    async def get(self, queue: str) -> Message | None:
        """Take the next message of ``queue`` (acknowledged at once), or None if empty."""
        self._send(1, commands.Basic.Get(queue=queue, no_ack=True))
        reply = await self._method()
        if isinstance(reply, commands.Basic.GetEmpty):
            return None
        assert isinstance(reply, commands.Basic.GetOk), reply
        kind, _, payload = await self._frame()
        assert kind == FRAME_HEADER
        size, properties = parse_content_header(payload)
        body = b""
        while len(body) < size:
            kind, _, chunk = await self._frame()
            assert kind == FRAME_BODY
            body += chunk
        return Message(str(reply.routing_key), bool(reply.redelivered), body, properties)

    async def message_count(self, queue: str) -> int | None:
        """How many messages are ready in ``queue``; None if there is no such queue."""
        self._send(1, commands.Queue.Declare(queue=queue, passive=True))
        reply = await self._reply()
        if isinstance(reply, commands.Queue.DeclareOk):
            return int(reply.message_count or 0)
        return None

    async def delete_queue(self, queue: str) -> None:
        """Delete ``queue`` with what it holds (if there is one)."""
        self._send(1, commands.Queue.Delete(queue=queue))
        await self._reply()

    async def delete_exchange(self, exchange: str) -> None:
        """Delete ``exchange`` (if there is one)."""
        self._send(1, commands.Exchange.Delete(exchange=exchange))
        await self._reply()

    # ------------------------------------------------------------------ frames

    async def _open_channel(self) -> None:
        self._send(1, commands.Channel.Open())
        await self._expect(commands.Channel.OpenOk)
        self._send(1, commands.Confirm.Select())
        await self._expect(commands.Confirm.SelectOk)

    def _send(self, channel: int, method: Frame) -> None:
        self._writer.write(frame.marshal(method, channel))

    async def _frame(self) -> tuple[int, int, bytes]:
        while True:
            try:
                head = await self._reader.readexactly(7)
                kind, channel, size = struct.unpack(">BHI", head)
                payload = await self._reader.readexactly(size + 1)
            except asyncio.IncompleteReadError as exc:
                raise ConnectionClosedError("the broker closed the socket") from exc
            if kind != FRAME_HEARTBEAT:
                return kind, channel, payload[:-1]

    async def _method(self) -> Frame:
        kind, channel, payload = await self._frame()
        assert kind == FRAME_METHOD, f"expected a method frame, got type {kind}"
        _, _, method = frame.unmarshal(_frame(kind, channel, payload))
        if isinstance(method, commands.Connection.Close):
            self._send(0, commands.Connection.CloseOk())
            self._writer.close()
            raise ConnectionClosedError(f"{method.reply_code} {method.reply_text}")
        return method  # type: ignore[return-value]

    async def _reply(self) -> Frame:
        """The next method; a ``Channel.Close`` is answered and a new channel opened."""
        method = await self._method()
        if isinstance(method, commands.Channel.Close):
            self._send(1, commands.Channel.CloseOk())
            await self._open_channel()
        return method

    async def _expect(self, kind: type[Frame]) -> Any:
        method = await self._method()
        assert isinstance(method, kind), f"expected {kind.__name__}, got {method!r}"
        return method


def _frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END
