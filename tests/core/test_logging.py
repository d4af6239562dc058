"""Logging as a user sees it: the lines svckit writes to standard error, parsed back."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import threading
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from svckit.core import logging as svckit_logging
from svckit.core._redact import FIELD_LIMIT, TRACEBACK_LIMIT, bound_text
from svckit.core.logging import (
    CONTEXT_LIMIT,
    NOISY_LOGGERS,
    bind,
    bind_context,
    bound,
    configure_logging,
    current_request_id,
    get_logger,
    unbind,
)
from svckit.core.settings import ServiceSettings

# Every test here configures logging: leave the process as this module found it.
pytestmark = pytest.mark.usefixtures("restore_logging")


def settings(**values: Any) -> ServiceSettings:
    values.setdefault("service_name", "orders")
    values.setdefault("log_format", "json")
    return ServiceSettings(**values)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def one_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = json_lines(captured.err)
    return line


def test_a_json_line_carries_the_standard_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    get_logger("orders.api").info("order placed", order_id=7, total=9.5)

    line = one_line(capsys)
    assert line.pop("timestamp").endswith("Z")
    assert line == {
        "event": "order placed",
        "level": "info",
        "logger": "orders.api",
        "service": "orders",
        "order_id": 7,
        "total": 9.5,
    }


def test_the_logger_name_defaults_to_the_calling_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings())
    get_logger().info("hello")
    assert one_line(capsys)["logger"] == __name__


def test_positional_arguments_are_formatted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    get_logger("x").info("took %d ms", 12)
    assert one_line(capsys)["event"] == "took 12 ms"


def test_lines_below_the_level_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(log_level="WARNING"))
    log = get_logger("x")
    log.info("not shown")
    logging.getLogger("x").info("not shown either")
    log.warning("shown")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["shown"]


def test_console_format_is_readable_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(log_format="console"))
    get_logger("orders.api").info("order placed", order_id=7)

    text = capsys.readouterr().err
    assert "order placed" in text
    assert "[info" in text
    assert "order_id=7" in text
    assert "service=orders" in text
    assert "\x1b[" not in text  # no colours when stderr is not a terminal
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize(
    ("values", "is_json"),
    [
        ({"log_format": "auto"}, False),
        ({"log_format": "auto", "environment": "test"}, False),
        (
            {
                "log_format": "auto",
                "environment": "production",
                "bus_url": "amqp://app:pw@rabbit/",
                "cache_url": "redis://cache:6379/0",
                "storage_url": "redis://cache:6379/0",
            },
            True,
        ),
        ({"log_format": "console", "environment": "test"}, False),
        ({"log_format": "json"}, True),
    ],
)
def test_auto_format_is_json_only_in_production(
    values: dict[str, Any], is_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings(**values))
    get_logger("x").info("hello")
    text = capsys.readouterr().err.strip()
    assert text.startswith("{") is is_json


def test_configuring_again_replaces_instead_of_adding(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(log_format="console", log_level="DEBUG"))
    configure_logging(settings(log_format="json", log_level="INFO", service_name="billing"))

    svckit_handlers = [
        h for h in logging.getLogger().handlers if isinstance(h, svckit_logging._StderrHandler)
    ]
    assert len(svckit_handlers) == 1
    log = get_logger("x")
    log.debug("dropped now")
    log.info("once")
    logging.getLogger("x").info("stdlib once")
    lines = json_lines(capsys.readouterr().err)
    assert [(line["event"], line["service"]) for line in lines] == [
        ("once", "billing"),
        ("stdlib once", "billing"),
    ]


def test_loggers_made_before_configuration_follow_it(capsys: pytest.CaptureFixture[str]) -> None:
    early = get_logger("early")
    configure_logging(settings(log_format="console"))
    configure_logging(settings(log_format="json", service_name="late"))
    early.info("hello")
    assert one_line(capsys)["service"] == "late"


def test_reconfiguring_reaches_a_logger_already_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    direct = alone(monkeypatch)
    log = get_logger("used")
    configure_logging(settings(service_name="first", log_level="DEBUG"))
    log.debug("first debug")
    configure_logging(settings(service_name="second", log_level="INFO"))
    log.debug("dropped now")
    log.info("second info")
    lines = json_lines(capsys.readouterr().err)
    assert [(line["event"], line["service"]) for line in lines] == [
        ("first debug", "first"),
        ("second info", "second"),
    ]
    configure_logging(settings(log_format="console"))
    log.info("as text")
    assert "as text" in capsys.readouterr().err
    assert len(direct) == 3


def test_structlog_reconfigured_reaches_a_logger_already_used() -> None:
    configure_logging(settings())
    log = get_logger("used")
    log.info("to stderr")
    with structlog.testing.capture_logs() as captured:
        log.info("captured in place")
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with structlog.testing.capture_logs() as after_reset:
            log.info("captured after a reset")
    finally:
        structlog.configure(**saved)
    assert [line["event"] for line in captured] == ["captured in place"]
    assert [line["event"] for line in after_reset] == ["captured after a reset"]


def test_a_level_set_on_the_standard_library_logger_is_honoured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    direct = alone(monkeypatch)
    configure_logging(settings())
    log = get_logger("svckit.access.test")
    log.info("shown")
    logging.getLogger("svckit.access.test").setLevel(logging.WARNING)
    try:
        log.info("silenced")
        log.warning("still shown")
    finally:
        logging.getLogger("svckit.access.test").setLevel(logging.NOTSET)
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == [
        "shown",
        "still shown",
    ]
    assert len(direct) == 2


def test_a_handler_added_later_gets_lines_of_a_logger_already_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    direct = alone(monkeypatch)
    configure_logging(settings())
    log = get_logger("x.y")
    log.info("before")
    stream = io.StringIO()
    theirs = logging.StreamHandler(stream)
    logging.getLogger("x").addHandler(theirs)
    try:
        log.info("after", token="hunter2")  # noqa: S106 - the secret to mask
    finally:
        logging.getLogger("x").removeHandler(theirs)
    log.info("alone again")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == [
        "before",
        "after",
        "alone again",
    ]
    assert len(direct) == 2
    assert "'event': 'after'" in stream.getvalue()
    assert "'token': '***'" in stream.getvalue()
    assert "hunter2" not in stream.getvalue()


def alone(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """svckit's handler alone on the root logger, as in a service (pytest adds its own).

    Returns the lines svckit's handler writes directly, without the standard library.
    """
    root = logging.getLogger()
    mine = [h for h in root.handlers if isinstance(h, svckit_logging._StderrHandler)]
    monkeypatch.setattr(root, "handlers", mine)
    direct: list[str] = []
    write_line = svckit_logging._StderrHandler.write_line

    def spy(handler: svckit_logging._StderrHandler, line: str) -> None:
        direct.append(line)
        write_line(handler, line)

    monkeypatch.setattr(svckit_logging._StderrHandler, "write_line", spy)
    return direct


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_line_is_the_same_written_directly_or_through_the_standard_library(
    fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    direct = alone(monkeypatch)
    configure_logging(settings(log_format=fmt))
    log = get_logger("x")

    def line() -> str:
        with bind_context(request_id="r-1"):
            log.info("paid %s", "in full", password="hunter2", user={"token": "t"}, n=3)  # noqa: S106
        text = capsys.readouterr().err
        # Everything but the timestamp.
        return json.dumps({**json.loads(text), "timestamp": ""}) if fmt == "json" else text[28:]

    written = line()
    assert len(direct) == 1
    logging.getLogger().addHandler(logging.NullHandler())  # now through the standard library
    routed = line()
    assert len(direct) == 1
    assert written == routed
    assert "hunter2" not in written
    assert "'t'" not in written
    assert '"t"' not in written
    if fmt == "json":
        assert json.loads(written) == {
            "event": "paid in full",
            "level": "info",
            "logger": "x",
            "service": "orders",
            "request_id": "r-1",
            "password": "***",
            "user": {"token": "***"},
            "n": 3,
            "timestamp": "",
        }


def test_a_filter_on_the_logger_still_sees_the_record(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    direct = alone(monkeypatch)
    configure_logging(settings())
    seen: list[logging.LogRecord] = []

    def drop(record: logging.LogRecord) -> bool:
        seen.append(record)
        return "drop me" not in str(record.msg)

    logging.getLogger("x").addFilter(drop)
    try:
        get_logger("x").info("drop me")
        get_logger("x").info("keep me")
    finally:
        logging.getLogger("x").removeFilter(drop)
    assert len(seen) == 2
    assert one_line(capsys)["event"] == "keep me"
    get_logger("x").info("direct again")
    assert len(direct) == 1


def test_a_failing_stream_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    direct = alone(monkeypatch)

    class Broken(io.StringIO):
        def write(self, _text: str) -> int:
            raise OSError("disk full")

    configure_logging(settings())
    monkeypatch.setattr("sys.stderr", Broken())
    get_logger("x").info("lost")  # does not raise, as logging.Handler.emit does not
    assert len(direct) == 1


def test_other_handlers_on_the_root_logger_are_left_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = io.StringIO()
    theirs = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(theirs)
    try:
        configure_logging(settings())
        configure_logging(settings())
        get_logger("x").warning("password=hunter2")
    finally:
        root.removeHandler(theirs)
    assert one_line(capsys)["event"] == "password=***"
    # svckit's lines reach another handler already redacted.
    assert "'event': 'password=***'" in stream.getvalue()
    assert "hunter2" not in stream.getvalue()


def test_standard_library_lines_share_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    with bind_context(message_id="m-1"):
        logging.getLogger("some.library").warning("retrying %s in %d s", "connect", 2)

    line = one_line(capsys)
    line.pop("timestamp")
    assert line == {
        "event": "retrying connect in 2 s",
        "level": "warning",
        "logger": "some.library",
        "service": "orders",
        "message_id": "m-1",
    }


def test_noisy_libraries_are_quiet_unless_debugging(capsys: pytest.CaptureFixture[str]) -> None:
    assert "aio_pika" in NOISY_LOGGERS
    chatty = logging.getLogger("aio_pika.robust_connection")

    configure_logging(settings(log_level="INFO"))
    chatty.info("connected")
    chatty.warning("connection lost")
    get_logger("svckit.bus").info("svckit info still shown")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == [
        "connection lost",
        "svckit info still shown",
    ]

    configure_logging(settings(log_level="DEBUG"))
    chatty.info("connected")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["connected"]


def test_a_level_the_application_set_on_a_library_is_kept() -> None:
    library = logging.getLogger("httpx")
    library.setLevel(logging.DEBUG)
    try:
        configure_logging(settings(log_level="INFO"))
        assert library.level == logging.DEBUG
    finally:
        library.setLevel(logging.NOTSET)


def test_noisy_libraries_respect_a_stricter_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(log_level="ERROR"))
    logging.getLogger("aiormq").warning("not shown")
    assert capsys.readouterr().err == ""


def test_bound_context_is_on_every_line_in_the_block_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings())
    log = get_logger("x")
    with bind_context(request_id="r-1", update_id=42):
        log.info("outer")
        with bind_context(message_id="m-1", request_id="r-2"):
            log.info("inner")
        log.info("outer again")
    log.info("after")

    lines = json_lines(capsys.readouterr().err)
    context = [
        {k: v for k, v in line.items() if k in {"request_id", "message_id", "update_id"}}
        for line in lines
    ]
    assert context == [
        {"request_id": "r-1", "update_id": 42},
        {"request_id": "r-2", "update_id": 42, "message_id": "m-1"},
        {"request_id": "r-1", "update_id": 42},
        {},
    ]


def test_lines_from_other_threads_still_name_the_service(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings(service_name="media"))
    thread = threading.Thread(target=lambda: logging.getLogger("pool").warning("from a thread"))
    thread.start()
    thread.join()
    assert one_line(capsys)["service"] == "media"


def test_trace_and_span_ids_come_from_the_current_span(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings())
    provider = TracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("test")
    log = get_logger("x")

    log.info("before")
    with tracer.start_as_current_span("work") as span:
        log.info("inside")
        logging.getLogger("lib").warning("stdlib inside")
    provider.shutdown()

    before, inside, stdlib_inside = json_lines(capsys.readouterr().err)
    assert "trace_id" not in before
    assert "span_id" not in before
    context = span.get_span_context()
    for line in (inside, stdlib_inside):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
        assert len(line["trace_id"]) == 32
        assert len(line["span_id"]) == 16


# ---------------------------------------------------------------- redaction


def test_secrets_are_masked_in_values_message_and_nested_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings())
    get_logger("x").info(
        "connecting to amqp://app:hunter2@rabbit/ with Authorization: Bearer tok-1",
        password="pw-2",  # noqa: S106 - a fake secret the test proves is masked
        API_KEY="key-3",
        headers={"Cookie": "sid=4", "Accept": "*/*", "inner": [{"jwt": "jwt-5"}]},
        url=f"https://api.telegram.org/bot123:{'t' * 35}/getMe",
        bus_url=SecretStr("amqp://app:pw-6@rabbit/"),
        count=3,
    )
    line = one_line(capsys)
    assert line["event"] == "connecting to amqp://app:***@rabbit/ with Authorization: Bearer ***"
    assert line["password"] == "***"  # noqa: S105 - the mask, not a password
    assert line["API_KEY"] == "***"
    assert line["headers"] == {"Cookie": "***", "Accept": "*/*", "inner": [{"jwt": "***"}]}
    assert line["url"] == "https://api.telegram.org/bot123:***/getMe"
    assert line["bus_url"] == "***"
    assert line["count"] == 3


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_exception_text_is_masked(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(log_format=fmt))

    def connect() -> None:
        raise ConnectionError("cannot reach amqp://app:hunter2@rabbit/")

    try:
        connect()
    except ConnectionError:
        get_logger("x").exception("bus down")
        logging.getLogger("lib").exception("lib saw password=%s", "hunter3")

    text = capsys.readouterr().err
    assert "hunter" not in text
    assert text.count("ConnectionError: cannot reach amqp://app:***@rabbit/") == 2
    assert "password=***" in text
    assert text.count("in connect") == 2  # the tracebacks are there


def test_exception_objects_as_values_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    get_logger("x").warning("retrying", error=OSError("amqp://app:hunter2@rabbit/ refused"))
    assert one_line(capsys)["error"] == "OSError('amqp://app:***@rabbit/ refused')"


SECRET_KEYS = st.sampled_from(
    ["password", "db_password", "secret", "client_secret", "token", "api_key", "Authorization"],
).flatmap(lambda key: st.sampled_from([key, key.upper(), key.title()]))
URL_PASSWORD = st.text(
    st.characters(codec="ascii", categories=["L", "N"], include_characters="-._~!$&*+,;=:@"),
    min_size=1,
    max_size=30,
).map(lambda s: f"Zq{s}")


@given(key=SECRET_KEYS, secret=st.text(min_size=1).map(lambda s: f"Zq{s}"), password=URL_PASSWORD)
def test_random_secrets_never_reach_the_output(key: str, secret: str, password: str) -> None:
    configure_logging(settings())
    stream = io.StringIO()
    with contextlib.redirect_stderr(stream):
        get_logger("x").info(
            f"connect to amqp://svc:{password}@rabbit:5672/",
            nested={"items": [{key: secret}]},
            **{key: secret},
        )
        logging.getLogger("lib").warning("dsn redis://:%s@cache:6379/0", password)
    output = stream.getvalue()
    assert secret not in output
    assert json.dumps(secret) not in output
    assert password not in output
    assert output.count("***") == 4


# ---------------------------------------------------------------- one log context


def test_an_id_bound_the_structlog_way_is_the_current_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings())
    tokens = structlog.contextvars.bind_contextvars(request_id="from-structlog")
    try:
        assert current_request_id() == "from-structlog"
        assert bound()["request_id"] == "from-structlog"
        get_logger("x").info("one")
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
    assert current_request_id() is None
    assert one_line(capsys)["request_id"] == "from-structlog"


def test_what_bind_binds_structlog_sees_and_unbind_restores() -> None:
    outer = bind(request_id="outer", message_id="m-1")
    inner = bind(request_id="inner")
    assert structlog.contextvars.get_contextvars() == {"request_id": "inner", "message_id": "m-1"}
    unbind(inner)
    assert current_request_id() == "outer"
    unbind(outer)
    assert "request_id" not in structlog.contextvars.get_contextvars()
    assert current_request_id() is None


async def test_a_bound_context_follows_the_task_and_stays_in_it() -> None:
    seen: list[str | None] = []

    async def child() -> None:
        seen.append(current_request_id())
        bind(request_id="child's own")

    with bind_context(request_id="parent"):
        await asyncio.create_task(child())
        assert current_request_id() == "parent"
    assert seen == ["parent"]


# ---------------------------------------------------------------- bounded values

PLANTED = "Zq-planted-8c1f"


def test_a_huge_bound_request_id_is_cut_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    huge = "r" * 60_000
    with bind_context(request_id=huge):
        assert current_request_id() == bound_text(huge, CONTEXT_LIMIT)
        for _ in range(3):
            get_logger("x").info("handled")
    lines = json_lines(capsys.readouterr().err)
    assert [line["request_id"] for line in lines] == [bound_text(huge, CONTEXT_LIMIT)] * 3


def test_an_id_bound_the_structlog_way_is_cut_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    with structlog.contextvars.bound_contextvars(request_id="r" * 60_000):
        get_logger("x").info("handled")
    assert len(one_line(capsys)["request_id"]) < FIELD_LIMIT + 20


def test_every_value_and_the_traceback_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings())
    huge = "e" * 100_000

    def fail() -> None:
        raise ValueError(huge)

    try:
        fail()
    except ValueError:
        get_logger("x").exception(huge, error=huge, items=[huge] * 1000)
    logging.getLogger("lib").warning("lib says %s", huge)

    captured = capsys.readouterr().err
    ours, theirs = json_lines(captured)
    assert len(ours["event"]) < FIELD_LIMIT + 20
    assert len(ours["error"]) < FIELD_LIMIT + 20
    assert len(ours["items"]) == 101
    assert ours["exception"].startswith("[+")
    assert ours["exception"].endswith("e" * 100)
    assert len(ours["exception"]) < TRACEBACK_LIMIT + 20
    assert len(theirs["event"]) < FIELD_LIMIT + 20
    assert len(captured) < 2 * (TRACEBACK_LIMIT + 102 * (FIELD_LIMIT + 20))


def test_a_planted_header_secret_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    pamqp_encode = pytest.importorskip("pamqp.encode")

    class Odd:
        def __repr__(self) -> str:
            return f"Odd({PLANTED})"

    configure_logging(settings())
    log = get_logger("x")
    headers = {"x-api-key": PLANTED, "accept": "json"}
    log.warning("got", headers=headers, text=f"x-api-key={PLANTED}", pairs=list(headers.items()))
    try:
        pamqp_encode.field_table({"headers": {"x-api-key": Odd()}})
    except TypeError as exc:
        log.exception("could not publish", error=str(exc))
        logging.getLogger("aiormq").exception("encode failed: %s", exc)  # noqa: TRY401 - as a library would

    captured = capsys.readouterr().err
    assert len(json_lines(captured)) == 3
    assert "x-api-key" in captured
    assert PLANTED not in captured
