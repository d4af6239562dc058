"""Fixtures of the HTTP client's tests: a real local server, spans, captured log lines."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.http._server import RecordingServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from structlog.typing import EventDict


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    server = RecordingServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A local URL whose port is bound but not listening: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    # Passed explicitly: OpenTelemetry lets the global provider be set only once.
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def logs() -> Iterator[list[EventDict]]:
    """The structlog lines svckit emits, as event dicts, before any redaction or filtering."""
    config: dict[str, Any] = structlog.get_config()
    saved = {**config, "processors": list(config["processors"])}
    structlog.reset_defaults()
    with structlog.testing.capture_logs() as captured:
        yield captured
    structlog.configure(**saved)
