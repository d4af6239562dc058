"""Each request is a CLIENT span, and its trace context travels in the request's headers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from svckit import RetryPolicy
from svckit.core.telemetry import get_tracer
from svckit.http import HttpClient, HttpTimeout
from tests.http._support import quick_policy

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.http._server import RecordingServer, Seen


def client_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind is SpanKind.CLIENT]


def traceparent(seen: Seen) -> tuple[int, int]:
    """The trace id and parent span id a request carried."""
    version, trace_id, span_id, flags = seen.headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 0x01, "the sampled flag"
    return int(trace_id, 16), int(span_id, 16)


async def test_a_request_continues_the_current_trace(
    server: RecordingServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = get_tracer("orders", tracer_provider=tracer_provider)
    async with HttpClient(server.url, tracer_provider=tracer_provider) as client:
        with tracer.start_as_current_span("place order") as parent:
            await client.get("/users/7")

    (span,) = client_spans(exporter)
    parent_context = parent.get_span_context()
    assert span.parent is not None
    assert span.parent.span_id == parent_context.span_id
    assert span.context.trace_id == parent_context.trace_id
    # The server is told to continue from the client span, in the same trace.
    (seen,) = server.seen
    assert traceparent(seen) == (span.context.trace_id, span.context.span_id)


async def test_a_request_outside_any_span_starts_a_trace(
    server: RecordingServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with HttpClient(server.url, tracer_provider=tracer_provider) as client:
        await client.get("/users/7")

    (span,) = client_spans(exporter)
    assert span.parent is None
    (seen,) = server.seen
    assert traceparent(seen) == (span.context.trace_id, span.context.span_id)


async def test_the_span_describes_the_request(
    server: RecordingServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    url = server.url.replace("http://", "http://svc:hunter2@")
    async with HttpClient(url, tracer_provider=tracer_provider) as client:
        await client.post("/orders?token=s3cr3t&page=2", json={})

    (span,) = client_spans(exporter)
    assert span.name == "POST"
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "url.full": f"{server.url}/orders?token=***&page=2",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "http.response.status_code": 200,
    }


async def test_each_try_is_a_span_of_the_same_trace(
    server: RecordingServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = get_tracer("orders", tracer_provider=tracer_provider)
    async with HttpClient(
        server.url, tracer_provider=tracer_provider, retry=quick_policy(attempts=3)
    ) as client:
        with tracer.start_as_current_span("place order") as parent:
            await client.get("/flaky?fail=2")

    spans = client_spans(exporter)
    assert [
        span.attributes.get("http.request.resend_count") for span in spans if span.attributes
    ] == [
        None,
        1,
        2,
    ]
    assert [s.attributes["http.response.status_code"] for s in spans if s.attributes] == [
        503,
        503,
        200,
    ]
    assert {s.context.trace_id for s in spans} == {parent.get_span_context().trace_id}
    failed = spans[0]
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "503"
    # Every try told the server which span it came from.
    assert [traceparent(seen)[1] for seen in server.seen] == [s.context.span_id for s in spans]


async def test_a_timeout_marks_its_span_failed(
    server: RecordingServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with HttpClient(
        server.url, tracer_provider=tracer_provider, retry=RetryPolicy(attempts=1), timeout=0.2
    ) as client:
        with pytest.raises(HttpTimeout):
            await client.get("/slow?stall=1")

    (span,) = client_spans(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "svckit.http.HttpTimeout"
    assert "http.response.status_code" not in (span.attributes or {})
