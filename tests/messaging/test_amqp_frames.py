"""The lenient frame decoder of svckit's RabbitMQ connections, without a broker.

Whatever bytes a foreign publisher puts in a message's properties, a header frame that
pamqp refuses decodes, inside a guard, into properties svckit can encode again; outside a
guard, pamqp behaves as it always did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pamqp.exceptions
import pamqp.frame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pamqp.header import ContentHeader

from svckit.core.errors import PublishError
from svckit.messaging._amqp_frames import FrameGuard, LenientProperties, encode_properties

from ._amqp_wire import header_frame, longstr, nested, timestamp

texts = st.binary(max_size=40)
stamps = st.integers(min_value=0, max_value=2**64 - 1)
values = st.one_of(texts.map(longstr), stamps.map(timestamp))


def _decode(frame: bytes, guard: FrameGuard | None = None) -> ContentHeader:
    with (guard or FrameGuard()).active():
        _, channel, decoded = pamqp.frame.unmarshal(frame)
    assert isinstance(decoded, ContentHeader)
    assert channel == frame[2]
    return decoded


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    return True


@settings(max_examples=300, deadline=None)
@given(
    message_id=texts,
    headers=st.lists(st.tuples(texts, values), max_size=5),
    when=st.one_of(st.none(), stamps),
)
def test_any_header_frame_decodes_in_a_guard_into_encodable_properties(
    message_id: bytes, headers: list[tuple[bytes, bytes]], when: int | None
) -> None:
    frame = header_frame(1, 10, headers=headers, message_id=message_id, timestamp=when)
    guard = FrameGuard()
    decoded = _decode(frame, guard)
    properties = decoded.properties
    assert decoded.body_size == 10
    assert _encodable(properties.message_id)
    assert _encodable(properties.headers or {})
    assert properties.timestamp is None or isinstance(properties.timestamp, dt.datetime)
    assert guard.failed_channel is None
    if isinstance(properties, LenientProperties):
        assert properties.malformed


def test_a_frame_pamqp_reads_is_not_marked() -> None:
    frame = header_frame(1, 2, message_id=b"fine", timestamp=1_700_000_000)
    decoded = _decode(frame)
    assert not isinstance(decoded.properties, LenientProperties)
    assert decoded.properties.message_id == "fine"


def test_outside_a_guard_pamqp_refuses_as_before() -> None:
    FrameGuard()  # installed, but not active here
    frame = header_frame(1, 2, message_id=b"\xff")
    with pytest.raises(pamqp.exceptions.UnmarshalingException):
        pamqp.frame.unmarshal(frame)


def test_a_bad_message_id_is_replaced_and_said() -> None:
    frame = header_frame(7, 2, message_id=b"id-\xff", timestamp=2**64 - 1)
    properties = _decode(frame).properties
    assert isinstance(properties, LenientProperties)
    assert properties.message_id == "id-\ufffd"
    assert properties.timestamp is None
    assert properties.malformed == "message_id is not valid UTF-8; timestamp is out of range"


def test_headers_nested_past_the_recursion_limit_are_left_out() -> None:
    frame = header_frame(1, 2, headers=[(b"deep", nested(5000)), (b"after", longstr(b"kept"))])
    properties = _decode(frame).properties
    assert isinstance(properties, LenientProperties)
    assert "nests deeper than 32 levels" in properties.malformed
    headers = properties.headers or {}
    assert headers["after"] == "kept"
    depth, value = 0, headers["deep"]
    while isinstance(value, dict):
        depth, value = depth + 1, value["k"]
    assert (depth, value) == (31, None)  # 32 levels, counting the headers table


def test_properties_past_the_limit_are_refused_before_sending() -> None:
    encoded = encode_properties(1000, message_id="m", headers={"k": "v" * 100})
    assert encoded.marshal() == encoded.encoded
    with pytest.raises(PublishError, match="more than the 100"):
        encode_properties(100, message_id="m", headers={"k": "v" * 100})
    with pytest.raises(PublishError, match="cannot be encoded"):
        encode_properties(1000, message_id="m", headers={"k": object()})
