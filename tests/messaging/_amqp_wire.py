"""The wire under the RabbitMQ transport's tests: a raw AMQP publisher, a proxy, a mute port.

- `RawPublisher` speaks AMQP 0-9-1 over a plain socket and sends content header frames
  built byte by byte, so a test can publish what pamqp's encoder refuses (text that is
  not UTF-8, a timestamp past the year 9999).
- `Proxy` forwards TCP to the shared RabbitMQ and can cut every connection and refuse
  new ones: an outage for one client, while the shared broker keeps running.
- `mute_port` accepts TCP connections and never says a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import TYPE_CHECKING, TypeVar

import pamqp.frame
import pytest
from pamqp import commands, constants, header

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BROKER = ("127.0.0.1", 5672)
T = TypeVar("T")

#: Content header property flags, in the order their values follow the flags.
_FLAGS = {
    "headers": 0x2000,
    "delivery_mode": 0x1000,
    "message_id": 0x0080,
    "timestamp": 0x0040,
}


def shortstr(raw: bytes) -> bytes:
    return bytes([len(raw)]) + raw


def longstr(raw: bytes) -> bytes:
    """A field table value: a long string of these raw bytes."""
    return b"S" + struct.pack(">I", len(raw)) + raw


def nested(depth: int) -> bytes:
    """A field table value: tables nested ``depth`` deep, with a string at the bottom."""
    value = longstr(b"bottom")
    for _ in range(depth):
        entry = shortstr(b"k") + value
        value = b"F" + struct.pack(">I", len(entry)) + entry
    return value


def timestamp(seconds: int) -> bytes:
    """A field table value: a timestamp."""
    return b"T" + struct.pack(">Q", seconds)


def header_frame(
    channel: int,
    body_size: int,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    message_id: bytes | None = None,
    timestamp: int | None = None,
) -> bytes:
    """A content header frame with these raw values, exactly as given.

    ``headers`` are (raw key, encoded field value) pairs: see `longstr` and `timestamp`.
    """
    flags, parts = _FLAGS["delivery_mode"], []
    if headers is not None:
        flags |= _FLAGS["headers"]
        table = b"".join(shortstr(key) + value for key, value in headers)
        parts.append(struct.pack(">I", len(table)) + table)
    parts.append(b"\x02")  # persistent
    if message_id is not None:
        flags |= _FLAGS["message_id"]
        parts.append(shortstr(message_id))
    if timestamp is not None:
        flags |= _FLAGS["timestamp"]
        parts.append(struct.pack(">Q", timestamp))
    payload = struct.pack(">HHQH", commands.Basic.frame_id, 0, body_size, flags) + b"".join(parts)
    return (
        struct.pack(">BHI", constants.FRAME_HEADER, channel, len(payload))
        + payload
        + constants.FRAME_END_CHAR
    )


class RawPublisher:
    """A minimal AMQP client on a socket: connect, open channel 1, publish raw frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls) -> RawPublisher:
        reader, writer = await asyncio.open_connection(*BROKER)
        client = cls(reader, writer)
        writer.write(header.ProtocolHeader().marshal())
        await client._expect(commands.Connection.Start)
        client._send(
            commands.Connection.StartOk(
                client_properties={"connection_name": "svckit-test-raw"},
                mechanism="PLAIN",
                response="\0guest\0guest",
            )
        )
        tune = await client._expect(commands.Connection.Tune)
        client._send(
            commands.Connection.TuneOk(channel_max=tune.channel_max, frame_max=tune.frame_max)
        )
        client._send(commands.Connection.Open(virtual_host="/"))
        await client._expect(commands.Connection.OpenOk)
        client._send(commands.Channel.Open(), channel=1)
        await client._expect(commands.Channel.OpenOk)
        client._send(commands.Confirm.Select(), channel=1)
        await client._expect(commands.Confirm.SelectOk)
        return client

    def _send(self, frame: pamqp.frame.FrameTypes, channel: int = 0) -> None:
        self._writer.write(pamqp.frame.marshal(frame, channel))

    async def _frame(self) -> pamqp.frame.FrameTypes:
        start = await self._reader.readexactly(7)
        _, _, size = struct.unpack(">BHI", start)
        rest = await self._reader.readexactly(size + 1)
        _, _, frame = pamqp.frame.unmarshal(start + rest)
        return frame

    async def _expect(self, kind: type[T]) -> T:
        async with asyncio.timeout(10):
            while True:
                frame = await self._frame()
                if isinstance(frame, kind):
                    return frame
                if isinstance(frame, commands.Connection.Close | commands.Channel.Close):
                    pytest.fail(f"the broker closed: {frame}")

    async def publish(
        self, routing_key: str | bytes, body: bytes, header_bytes: bytes, *, exchange: str = ""
    ) -> None:
        """Publish ``body`` with the raw header frame; wait for the confirm.

        The routing key may be raw bytes (not UTF-8), as the broker routes them.
        """
        key = routing_key.encode() if isinstance(routing_key, str) else routing_key
        arguments = struct.pack(">H", 0) + shortstr(exchange.encode()) + shortstr(key) + b"\x00"
        method = struct.pack(">I", commands.Basic.Publish.index) + arguments
        frames = [
            struct.pack(">BHI", constants.FRAME_METHOD, 1, len(method)) + method,
            header_bytes[:-1],  # each part below ends with the frame end
            struct.pack(">BHI", constants.FRAME_BODY, 1, len(body)) + body,
        ]
        self._writer.write(constants.FRAME_END_CHAR.join(frames) + constants.FRAME_END_CHAR)
        await self._expect(commands.Basic.Ack)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class Proxy:
    """A TCP proxy in front of the shared RabbitMQ that a test can cut and restore."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*BROKER)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def cut(self) -> None:
        """Close every connection and refuse new ones (the port stays bound to nothing)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        await self.start()


@contextlib.asynccontextmanager
async def proxy() -> AsyncIterator[Proxy]:
    """A running `Proxy`, cut when the test leaves."""
    running = Proxy()
    await running.start()
    try:
        yield running
    finally:
        await running.cut()


@contextlib.asynccontextmanager
async def mute_port() -> AsyncIterator[int]:
    """A local port that accepts TCP and never answers; yields the port."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.transport.abort()
        await server.wait_closed()
