"""ApiService through HTTP on the ASGI client: lifecycle, request ids, problems, CORS, hosts."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from svckit import ConfigurationError, Environment, ServiceState
from svckit.api import ApiSettings
from svckit.messaging.transport import Headers
from svckit.testing import ApiHarness
from tests.api._app import Pinger

if TYPE_CHECKING:
    from collections.abc import Iterator

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_lifespan_opens_the_resources_before_the_first_request() -> None:
    harness = ApiHarness(Pinger)
    assert harness.service.state is ServiceState.NEW
    async with harness as api:
        assert api.service.state is ServiceState.RUNNING
        ready = await api.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"].keys() == {"cache", "storage", "bus"}
        assert (await api.client.get("/livez")).status_code == 200
        response = await api.client.get("/cached")
        assert response.json() == {"cache": True, "storage": True}
    assert str(harness.service.state) == "stopped"


async def test_health_routes_are_left_out_of_the_schema() -> None:
    async with ApiHarness(Pinger) as api:
        schema = (await api.client.get("/openapi.json")).json()
    assert "/hello" in schema["paths"]
    assert "/livez" not in schema["paths"]
    assert "/readyz" not in schema["paths"]


async def test_a_well_formed_request_id_is_kept_and_echoed() -> None:
    async with ApiHarness(Pinger) as api:
        response = await api.client.get("/hello", headers={"X-Request-ID": "abc-123.x:y_z"})
    assert response.headers["x-request-id"] == "abc-123.x:y_z"


@pytest.mark.parametrize(
    "value", ["a" * 129, "has space", "semi;colon", "new\tline", "ünïcode", ""]
)
async def test_a_malformed_request_id_is_replaced(value: str) -> None:
    async with ApiHarness(Pinger) as api:
        response = await api.client.get("/hello", headers=[(b"X-Request-ID", value.encode())])
    echoed = response.headers["x-request-id"]
    assert echoed != value
    assert len(echoed) == 32
    assert echoed.isalnum()


async def test_each_request_without_an_id_gets_a_new_one() -> None:
    async with ApiHarness(Pinger) as api:
        first = (await api.client.get("/hello")).headers["x-request-id"]
        second = (await api.client.get("/hello")).headers["x-request-id"]
    assert first != second


async def test_a_message_published_while_handling_carries_the_request_id_and_trace() -> None:
    async with ApiHarness(Pinger) as api:
        response = await api.client.post(
            "/ping", headers={"X-Request-ID": "req-42", "traceparent": TRACEPARENT}
        )
        assert response.status_code == 202
        [out] = [m for m in api.messages if m.routing_key == "apitest.pinged"]
    assert out.headers[Headers.REQUEST_ID] == "req-42"
    assert out.headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"


async def _until_access_lines(
    capsys: pytest.CaptureFixture[str], count: int, timeout: float = 5.0
) -> list[dict[str, object]]:
    """The log lines written until ``count`` access lines came (they follow the response)."""
    records: list[dict[str, object]] = []
    async with asyncio.timeout(timeout):
        while sum(r.get("logger") == "svckit.access" for r in records) < count:
            records += _records(capsys.readouterr().err)
            await asyncio.sleep(0.001)
    return records


def _records(err: str) -> list[dict[str, object]]:
    out = []
    for line in err.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


async def test_every_log_line_of_a_request_and_one_access_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with ApiHarness(Pinger, log_format="json") as api:
        capsys.readouterr()
        await api.client.get("/hello", headers={"X-Request-ID": "req-7"})
        await api.client.get("/me", headers={"X-Request-ID": "req-8", "X-Test-User": "u-1"})
        await api.client.get("/nowhere/12345", headers={"X-Request-ID": "req-9"})
        records = await _until_access_lines(capsys, 3)
    said = [r for r in records if r["event"] == "saying hello"]
    assert said
    assert said[0]["request_id"] == "req-7"
    access = [r for r in records if r["logger"] == "svckit.access"]
    assert len(access) == 3
    hello, me, missing = access
    assert hello["method"] == "GET"
    assert hello["route"] == "/hello"
    assert hello["status"] == 200
    assert hello["request_id"] == "req-7"
    assert isinstance(hello["duration_ms"], float)
    assert "user_id" not in hello
    assert me["user_id"] == "u-1"
    assert missing["route"] == "<unmatched>"
    assert missing["status"] == 404
    assert not any(r["logger"] == "uvicorn.access" for r in records)


async def test_the_access_line_names_the_route_template_not_the_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fastapi import APIRouter  # noqa: PLC0415

    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    class Things(Pinger):
        api_routers = (router,)

    async with ApiHarness(Things, log_format="json") as api:
        capsys.readouterr()
        await api.client.get("/things/99")
        records = await _until_access_lines(capsys, 1)
    [access] = [r for r in records if r["logger"] == "svckit.access"]
    assert access["route"] == "/things/{thing_id}"


def _assert_problem(response: object, status: int) -> dict[str, object]:
    import httpx2  # noqa: PLC0415

    assert isinstance(response, httpx2.Response)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_not_found_and_method_not_allowed_are_problems() -> None:
    async with ApiHarness(Pinger) as api:
        _assert_problem(await api.client.get("/nowhere"), 404)
        response = await api.client.delete("/hello")
    body = _assert_problem(response, 405)
    assert body["title"] == "Method Not Allowed"
    assert response.headers["allow"] == "GET"


async def test_a_validation_error_is_a_problem_without_the_values_sent() -> None:
    async with ApiHarness(Pinger) as api:
        response = await api.client.post(
            "/items", json={"name": "hunter2-secret-xx-long!", "count": -1}
        )
    body = _assert_problem(response, 422)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {tuple(e["loc"]) for e in errors} == {("body", "name"), ("body", "count")}
    assert "hunter2" not in response.text


async def test_an_unhandled_error_is_a_500_problem_with_no_internal_detail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with ApiHarness(Pinger, log_format="json") as api:
        capsys.readouterr()
        response = await api.client.get("/boom", headers={"X-Request-ID": "req-boom"})
        err = capsys.readouterr().err
    body = _assert_problem(response, 500)
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert body["request_id"] == "req-boom"
    failed = [r for r in _records(err) if r["event"] == "request failed"]
    assert failed
    assert failed[0]["request_id"] == "req-boom"
    assert "RuntimeError" in str(failed[0]["exception"])


async def test_a_problem_raised_by_a_dependency_keeps_its_headers() -> None:
    async with ApiHarness(Pinger) as api:
        response = await api.client.get("/me")
    body = _assert_problem(response, 401)
    assert body["detail"] == "who are you"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_untrusted_host_is_a_400_problem() -> None:
    async with ApiHarness(Pinger, trusted_hosts=["api.example.com", "*.example.org"]) as api:
        _assert_problem(await api.client.get("/hello"), 400)
        ok = await api.client.get("/hello", headers={"Host": "api.example.com:8000"})
        sub = await api.client.get("/hello", headers={"Host": "eu.example.org"})
        bad = await api.client.get("/hello", headers={"Host": "example.org.evil.com"})
    assert ok.status_code == 200
    assert sub.status_code == 200
    _assert_problem(bad, 400)


async def test_cors_allows_the_listed_origins_only() -> None:
    async with ApiHarness(
        Pinger, cors_origins=["https://app.example.com"], cors_allow_credentials=True
    ) as api:
        allowed = await api.client.options(
            "/hello",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
            },
        )
        refused = await api.client.options(
            "/hello",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        simple = await api.client.get("/hello", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    _assert_problem(refused, 400)
    assert "access-control-allow-origin" not in simple.headers


def _production(**values: object) -> ApiSettings:
    return ApiSettings(
        service_name="users",
        environment=Environment.PRODUCTION,
        bus_url=SecretStr("amqp://u:p@rabbit/"),
        cache_url=SecretStr("redis://redis:6379/0"),
        storage_url=SecretStr("redis://redis:6379/1"),
        **values,  # type: ignore[arg-type]
    )


def test_production_refuses_any_origin_with_credentials() -> None:
    with pytest.raises(ConfigurationError, match="SVCKIT_CORS_ORIGINS allows any origin"):
        _production(cors_origins=["*"], cors_allow_credentials=True)
    assert _production(cors_origins=["*"]).cors_origins == ["*"]
    assert _production(cors_origins=["https://a.example"], cors_allow_credentials=True)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = provider
    try:
        yield exporter
    finally:
        trace._TRACER_PROVIDER = previous


async def test_a_server_span_per_request_continues_the_incoming_trace(
    spans: InMemorySpanExporter,
) -> None:
    async with ApiHarness(Pinger) as api:
        await api.client.post("/ping", headers={"traceparent": TRACEPARENT})
        [out] = [m for m in api.messages if m.routing_key == "apitest.pinged"]
    server = [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    assert len(server) == 1
    [span] = server
    assert span.name == "POST /ping"
    assert format(span.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 202
    assert out.headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_no_second_server_span_when_the_fastapi_instrumentation_marked_the_app(
    spans: InMemorySpanExporter,
) -> None:
    async with ApiHarness(Pinger) as api:
        # What opentelemetry-instrumentation-fastapi's instrument_app sets on the app.
        api.service.app._is_instrumented_by_opentelemetry = True  # type: ignore[attr-defined]
        await api.client.get("/hello")
    assert [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.SERVER] == []


def test_importing_svckit_api_needs_the_extra_hint() -> None:
    from svckit.core._extras import require  # noqa: PLC0415
    from svckit.core.errors import MissingExtraError  # noqa: PLC0415

    with pytest.raises(MissingExtraError, match="svckit\\[api\\]"):
        require("fastapi_not_installed_here", "api")


def test_logging_module_is_untouched() -> None:
    assert logging.getLogger("uvicorn.access").level in (logging.NOTSET, logging.WARNING)


async def test_with_opentelemetrys_fastapi_instrumentation_one_server_span_per_request(
    spans: InMemorySpanExporter,
) -> None:
    instrumentation = pytest.importorskip("opentelemetry.instrumentation.fastapi")
    harness = ApiHarness(Pinger)
    instrumentation.FastAPIInstrumentor.instrument_app(harness.service.app)
    try:
        async with harness as api:
            response = await api.client.post("/ping", headers={"traceparent": TRACEPARENT})
            [out] = [m for m in api.messages if m.routing_key == "apitest.pinged"]
    finally:
        instrumentation.FastAPIInstrumentor.uninstrument_app(harness.service.app)
    assert response.status_code == 202
    server = [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    assert len(server) == 1
    assert format(server[0].context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    # The message published in the request still carries the trace.
    assert out.headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
