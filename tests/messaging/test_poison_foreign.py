"""Foreign values made safe: what a copy carries always encodes, within its budget."""

from __future__ import annotations

import decimal
import gzip
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pamqp import encode
from pydantic import BaseModel, ValidationError, field_validator

from svckit import DecodeError
from svckit.messaging import Headers
from svckit.messaging._content import MAX_BODY, read_body
from svckit.messaging._foreign import (
    MAX_DEPTH,
    encodable_headers,
    encoded_size,
    note,
    printable,
    sane_int,
)
from svckit.messaging._handling import (
    HEADER_BUDGET,
    PROPERTIES_ROOM,
    attempt_of,
    copy_to,
    error_message,
    header_budget,
    request_id_of,
    topic_of,
    traceback_excerpt,
)
from svckit.messaging.consumer import _decoder

# Everything pamqp decodes, and more that a memory transport or a careless caller holds.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.builds(object),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(st.text(max_size=140), st.integers()), inner, max_size=4)
    ),
    max_leaves=20,
)
_tables = st.dictionaries(st.one_of(st.text(max_size=140), st.integers()), _values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(_tables, st.integers(min_value=4, max_value=4000))
def test_sanitised_headers_always_encode_within_the_budget(
    headers: dict[Any, Any], budget: int
) -> None:
    clean, dropped = encodable_headers(headers, budget)
    data = encode.field_table(clean)
    assert len(data) == encoded_size(clean) <= max(budget, 4)
    # Whatever was not kept unchanged is named.
    for key, value in headers.items():
        if key not in clean and isinstance(key, str) and len(key.encode("utf-8", "replace")) <= 128:
            assert key in dropped or printable(key, 64) in dropped, (key, value)


@pytest.mark.parametrize(
    ("value", "kept", "noted"),
    [
        # pamqp's undecodable long string: written back as a byte array, unchanged.
        (b"\xff\xfe not utf-8", bytearray(b"\xff\xfe not utf-8"), False),
        (1e308, None, True),  # a double pamqp cannot write back (it writes floats in 32 bits)
        (float("inf"), None, True),  # RabbitMQ closes the connection of who sends it
        (float("nan"), None, True),
        (-3.5, -3.5, False),
        (2**64, None, True),
        (-(2**63), -(2**63), False),
        (decimal.Decimal(4294967295), None, True),  # a decoded unsigned mantissa
        (decimal.Decimal("NaN"), None, True),
        (decimal.Decimal("1E+999999999"), None, True),  # refused before pamqp builds the int
        (decimal.Decimal("1.25"), decimal.Decimal("1.25"), False),
        ("\ud800", None, True),  # a lone surrogate is no UTF-8
        (datetime(1969, 1, 1, tzinfo=UTC), None, True),
        ({"deep": [{"x": 1e308, "y": 2}]}, {"deep": [{"y": 2}]}, True),
        (object(), None, True),
    ],
)
def test_each_kind_of_foreign_value(value: Any, kept: Any, noted: bool) -> None:
    clean, dropped = encodable_headers({"h": value, "fine": "yes"}, HEADER_BUDGET)
    assert clean.get("h") == kept
    assert clean["fine"] == "yes"
    assert ("h" in dropped) == noted
    assert dropped in ([], ["h"])
    encode.field_table(clean)


def test_keys_nesting_and_size_are_bounded() -> None:
    nested: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    headers = {"k" * 129: 1, 7: 2, "nested": nested, "big": "x" * 100_000, "small": 1}
    clean, dropped = encodable_headers(headers, HEADER_BUDGET)
    assert clean == {"nested": clean["nested"], "small": 1}
    assert {"nested", "big", "k" * 64, "int"} <= set(dropped)
    assert len(encode.field_table(clean)) <= HEADER_BUDGET


def test_the_note_of_dropped_names_is_bounded_ascii() -> None:
    text = note([f"h\u00e9-{n}" for n in range(1000)])
    assert len(text) <= 1000
    assert text.isascii()
    assert text.endswith("more)")


@pytest.mark.parametrize(
    ("header", "attempt"),
    [
        (None, 1),
        (3, 3),
        ("4", 4),
        ("99999999999999999999", 1),
        (float("inf"), 1),
        (2**70, 1),
        (0, 1),
        (-5, 1),
        (True, 1),
        (b"\xff", 1),
        ([2], 1),
    ],
)
def test_attempt_is_a_sane_int_or_1(header: Any, attempt: int) -> None:
    headers = {} if header is None else {Headers.ATTEMPT: header}
    assert attempt_of(headers) == attempt


def test_sane_int_refuses_long_strings_before_converting() -> None:
    assert sane_int("1" * 10_000, 1, 10) is None


@dataclass
class _Delivery:
    body: bytes = b"{}"
    routing_key: str = "q"
    headers: dict[Any, Any] = field(default_factory=dict)
    message_id: Any = None
    type: Any = None
    correlation_id: Any = None
    timestamp: Any = None
    redelivered: bool = False
    content_type: Any = None
    content_encoding: Any = None
    priority: Any = None
    expiration: Any = None
    reply_to: Any = None
    app_id: Any = None
    user_id: Any = None


def test_a_copy_keeps_the_properties_and_moves_expiration_and_user_id() -> None:
    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    delivery = _Delivery(
        message_id="m-1",
        type="t",
        correlation_id="c",
        timestamp=sent,
        content_type="application/json",
        content_encoding="gzip",
        priority=7,
        expiration="60000",
        reply_to="replies",
        app_id="app",
        user_id="someone",
        headers={"keep": "me"},
    )
    copy = copy_to(delivery, "q.dlq", {Headers.ATTEMPT: 1})  # type: ignore[arg-type]
    assert (copy.message_id, copy.type, copy.correlation_id, copy.timestamp) == (
        "m-1",
        "t",
        "c",
        sent,
    )
    assert (copy.content_type, copy.content_encoding, copy.priority) == (
        "application/json",
        "gzip",
        7,
    )
    assert (copy.reply_to, copy.app_id) == ("replies", "app")
    assert copy.expiration is None
    assert copy.user_id is None
    assert copy.headers[Headers.ORIGINAL_EXPIRATION] == "60000"
    assert copy.headers[Headers.ORIGINAL_USER_ID] == "someone"
    assert copy.headers["keep"] == "me"


def test_a_copy_of_a_message_without_id_or_timestamp_has_none() -> None:
    copy = copy_to(_Delivery(), "q.dlq", {})  # type: ignore[arg-type]
    assert copy.message_id is None
    assert copy.timestamp is None
    assert copy.content_type is None
    assert Headers.DROPPED_HEADERS not in copy.headers


def test_unencodable_properties_are_left_out_and_named() -> None:
    delivery = _Delivery(message_id="x" * 300, priority=1000, app_id=b"raw", type="\ud800")
    copy = copy_to(delivery, "q.dlq", {})  # type: ignore[arg-type]
    assert (copy.message_id, copy.priority, copy.app_id, copy.type) == (None, None, None, None)
    assert copy.headers[Headers.DROPPED_PROPERTIES] == "message_id,type,app_id,priority"


def test_a_copy_fits_the_budget_foreign_headers_cut_first() -> None:
    delivery = _Delivery(headers={"huge": "x" * 130_000, "small": "ok"})
    own = {Headers.ERROR_MESSAGE: "boom", Headers.ERROR_TRACEBACK: "t" * 2000}
    copy = copy_to(delivery, "q.dlq", own)  # type: ignore[arg-type]
    assert len(encode.field_table(copy.headers)) <= HEADER_BUDGET
    assert "huge" not in copy.headers
    assert copy.headers["small"] == "ok"
    assert copy.headers[Headers.DROPPED_HEADERS] == "huge"
    assert copy.headers[Headers.ERROR_TRACEBACK] == "t" * 2000


def test_svckit_error_text_is_cut_when_even_it_does_not_fit() -> None:
    own = {Headers.ERROR_MESSAGE: "m" * 40_000, Headers.ERROR_TRACEBACK: "t" * 40_000}
    copy = copy_to(_Delivery(headers={"a": "b"}), "q.dlq", own)  # type: ignore[arg-type]
    assert len(encode.field_table(copy.headers)) <= HEADER_BUDGET
    assert copy.headers[Headers.TRUNCATED_HEADERS] == Headers.ERROR_TRACEBACK
    assert copy.headers[Headers.ERROR_MESSAGE] == "m" * 40_000
    assert copy.headers[Headers.ERROR_TRACEBACK].startswith("t")


def test_an_invalid_attempt_header_is_replaced_and_noted() -> None:
    delivery = _Delivery(headers={Headers.ATTEMPT: "99999999999999999999"})
    copy = copy_to(delivery, "q.dlq", {Headers.ATTEMPT: 1})  # type: ignore[arg-type]
    assert copy.headers[Headers.ATTEMPT] == 1
    assert copy.headers[Headers.DROPPED_HEADERS] == Headers.ATTEMPT


def test_topic_and_request_id_are_read_only_when_sane() -> None:
    assert topic_of(_Delivery(headers={Headers.ROUTING_KEY: b"\xff"})) == "q"  # type: ignore[arg-type]
    assert topic_of(_Delivery(headers={Headers.ROUTING_KEY: "k" * 256})) == "q"  # type: ignore[arg-type]
    assert topic_of(_Delivery(headers={Headers.ROUTING_KEY: "a.b"})) == "a.b"  # type: ignore[arg-type]
    assert request_id_of({Headers.REQUEST_ID: "r" * 60_000}) is None
    assert request_id_of({Headers.REQUEST_ID: "a\nb"}) is None
    assert request_id_of({Headers.REQUEST_ID: b"raw"}) is None
    assert request_id_of({Headers.REQUEST_ID: "req-1"}) == "req-1"


# ------------------------------------------------------------------ bodies


class Card(BaseModel):
    number: str

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError(f"{value} is not a card number")
        return value


def test_error_text_never_carries_a_payload_value() -> None:
    secret = "4111-SECRET-VALUE"  # noqa: S105 - a value that must not leak
    try:
        Card.model_validate({"number": secret})
    except ValidationError as exc:
        error = exc
    assert secret in str(error)  # what pydantic says on its own
    assert secret not in error_message(error)
    assert "number: value_error" in error_message(error)
    try:
        try:
            Card.model_validate({"number": secret})
        except ValidationError as exc:
            raise RuntimeError("could not charge") from exc
    except RuntimeError as outer:
        excerpt = traceback_excerpt(outer)
    assert secret not in excerpt
    assert "RuntimeError: could not charge" in excerpt
    assert "number: value_error" in excerpt


@pytest.mark.parametrize("kind", [Card, dict, list[int]])
def test_every_decode_failure_is_a_decode_error_without_values(kind: Any) -> None:
    decode = _decoder(kind)
    bodies = [
        b"[" * 100_000 + b"]" * 100_000,  # nested past the recursion limit
        b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe\x00garbage",
        b"",
    ]
    if kind is not dict:
        bodies.append(b'{"number": "4111-SECRET-VALUE"}')
    for body in bodies:
        with pytest.raises(DecodeError) as raised:
            decode(body)
        assert "SECRET" not in str(raised.value)
        assert raised.value.__cause__ is None
        assert raised.value.__suppress_context__


def _body(body: bytes, encoding: str | None = None, content_type: str | None = None) -> Any:
    return _Delivery(body=body, content_encoding=encoding, content_type=content_type)


def test_content_encodings_are_undone() -> None:
    payload = b'{"number": "1"}'
    for encoding in (None, "", "identity", "UTF-8", "binary"):
        assert read_body(_body(payload, encoding), json=True) == payload
    assert read_body(_body(gzip.compress(payload), "gzip"), json=True) == payload
    assert read_body(_body(gzip.compress(payload), " x-gzip "), json=True) == payload
    two_members = gzip.compress(payload[:5]) + gzip.compress(payload[5:])
    assert read_body(_body(two_members, "gzip"), json=True) == payload
    assert read_body(_body(zlib.compress(payload), "deflate"), json=True) == payload


@pytest.mark.parametrize(
    ("body", "encoding", "error"),
    [
        (b"plain", "br", "unsupported content encoding 'br'"),
        (b"plain", "\x1b[31mred", "unsupported content encoding '\\x1b[31mred'"),
        (b"not gzip", "gzip", "the gzip body is corrupt"),
        (gzip.compress(b"x" * 1000)[:-12], "gzip", "the gzip body is truncated"),
        (b"", "gzip", "the gzip body is truncated"),
        (gzip.compress(b"\0" * (MAX_BODY + 1)), "gzip", "the gzip body is larger than"),
        (zlib.compress(b"\0" * (MAX_BODY + 1)), "deflate", "the deflate body is larger than"),
    ],
    ids=["unknown", "escape-codes", "corrupt", "truncated", "empty", "bomb", "deflate-bomb"],
)
def test_a_body_that_cannot_be_undone_is_poison(body: bytes, encoding: str, error: str) -> None:
    with pytest.raises(DecodeError, match=re.escape(error)):
        read_body(_body(body, encoding), json=False)


def test_json_handlers_read_json_content_types_only() -> None:
    for content_type in (
        None,
        "",
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.acme+json",
        "APPLICATION/JSON",
    ):
        assert read_body(_body(b"{}", content_type=content_type), json=True) == b"{}"
    for content_type in ("text/plain", "application/xml", "application/octet-stream"):
        with pytest.raises(DecodeError, match="is not JSON"):
            read_body(_body(b"{}", content_type=content_type), json=True)
        # A bytes handler takes any content type.
        assert read_body(_body(b"{}", content_type=content_type), json=False) == b"{}"


def test_the_budget_follows_a_transport_that_says_its_frame_size() -> None:
    class Small:
        max_header_bytes = 8192

    assert header_budget(object()) == HEADER_BUDGET
    assert header_budget(Small()) == 8192 - PROPERTIES_ROOM
    own = {Headers.ERROR_MESSAGE: "m" * 3000, Headers.ERROR_TRACEBACK: "t" * 8000}
    delivery = _Delivery(headers={"x-big": "b" * 6000})
    copy = copy_to(delivery, "q.dlq", own, budget=header_budget(Small()))  # type: ignore[arg-type]
    assert len(encode.field_table(copy.headers)) <= 8192 - PROPERTIES_ROOM
    assert copy.headers[Headers.DROPPED_HEADERS] == "x-big"
    assert copy.headers[Headers.TRUNCATED_HEADERS] == Headers.ERROR_TRACEBACK
