"""What the fuzz test sends: hypothesis strategies for hostile bodies, properties and headers.

Each `Sample` is one message for one of the fuzz worker's consumers (``model``, ``dict``,
``bytes``), with the tags of what is odd about it (so a failure can be traced to its
cause) and what must become of it:

- ``handled``: a valid neighbour (plain, or gzip-encoded with ``content_encoding: gzip``);
- ``dead-lettered``: its handler raises;
- ``either``: anything else; svckit may handle it or dead-letter it, but nothing more.

The values come from what broke svckit before (issue 9): invalid UTF-8 in the message id,
in header keys and in long strings; timestamps past year 9999; doubles the encoder cannot
write back; svckit's own attempt header as a 20-digit string or an enormous number;
tables nested thousands deep; headers filling the frame; bodies nested deep enough for a
`RecursionError`; gzip bodies and zip bombs. Secrets are planted where a careless logger
would copy them: ``x-api-key``, ``Authorization``, ``password=`` in ids, bodies and errors.

RabbitMQ itself refuses infinities and NaN in tables (it closes the connection), a
``user_id`` that is not the connection's user, an ``expiration`` that is not a number and
a ``delivery_mode`` of 0, so those are not sent.
"""

from __future__ import annotations

import functools
import gzip
import json
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ._raw_amqp import content_header, encode_table, nested_table

if TYPE_CHECKING:
    from ._raw_amqp import FieldValue

KINDS = ("model", "dict", "bytes")
#: The kinds of body, taken in turn so that each is sent (hypothesis draws the rest).
BODIES = (
    "valid", "json", "deep-list", "deep-dict", "secret-field", "fail", "gzip", "gzip-bomb",
    "gzip-members", "gzip-corrupt", "binary", "invalid-utf8", "large", "empty", "nan-json",
)  # fmt: skip
#: The largest content-header payload the broker takes (its frame_max less the frame's
#: own 8 bytes), less room for the other properties.
HEADER_ROOM = 131_072 - 8 - 2_000
YEAR_10000 = 253_402_300_800  # seconds since the epoch


@dataclass
class Sample:
    """One message to publish, and what must become of it."""

    seq: int
    kind: str
    body: bytes
    properties: dict[str, Any]
    expect: str = "either"
    tags: list[str] = field(default_factory=list)

    @property
    def routing_key(self) -> str:
        """``<kind>.<seq>``: how the worker and the dead letters tell the test which it was."""
        return f"{self.kind}.{self.seq}"


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip stream of 128 MB of zeros (about 130 KB on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(128)) + packer.flush()


@functools.cache
def gzip_member_bomb() -> bytes:
    """1,024 concatenated gzip members of 1 MB of zeros each: 1 GB from about 1 MB."""
    return gzip.compress(bytes(1 << 20), 9) * 1024


def valid_body(kind: str, seq: int, note: str) -> bytes:
    """A body the consumer of ``kind`` takes."""
    if kind == "bytes":
        return note.encode()
    return json.dumps({"seq": seq, "note": note}).encode()


def neighbour(seq: int, kind: str, *, gzipped: bool) -> Sample:
    """A plain, valid message with the properties a careful client sets."""
    body = valid_body(kind, seq, f"neighbour {seq}")
    properties: dict[str, Any] = {
        "content_type": "application/json",
        "delivery_mode": 2,
        "message_id": str(uuid.uuid4()),
        "timestamp": int(time.time()),
        "headers": [("x-request-id", ("S", str(uuid.uuid4())))],
    }
    tags = ["neighbour"]
    if gzipped:
        body = gzip.compress(body)
        properties["content_encoding"] = "gzip"
        tags.append("gzip-neighbour")
    return Sample(seq, kind, body, properties, "handled", tags)


# ---------------------------------------------------------------------- strategies

_short_text = st.text(max_size=40)
_invalid_utf8 = st.binary(max_size=30).map(lambda b: b"\xff" + b + b"\xc3\x28")
_short_strings = st.one_of(
    _short_text.map(lambda t: (t, "text")),
    _invalid_utf8.map(lambda b: (b, "invalid-utf8")),
    st.just((b"a" * 255, "255-bytes")),
)
_timestamps = st.sampled_from(
    [
        (0, "epoch"),
        (2**31, "2038"),
        (YEAR_10000 - 1, "year-9999"),
        (YEAR_10000 * 1000 + 1, "past-9999-ms"),
        (2**63 - 1, "int64-max"),
        (2**64 - 1, "uint64-max"),
    ]
)
_doubles = st.sampled_from([1e308, -1e308, 5e-324, 3.5e38, -0.0, 0.1])


def _values(secret: str) -> st.SearchStrategy[tuple[FieldValue, str]]:
    scalars = st.one_of(
        _short_text.map(lambda t: (("S", t), "S")),
        st.sampled_from([300, 5_000, 20_000]).map(
            lambda n: (("S", b"\xff\xfe" + b"v" * n), f"S-invalid-utf8-{n}")
        ),
        # Text that made a backtracking redaction pattern take seconds (issue 9, item 1).
        st.sampled_from([40, 120]).map(
            lambda n: (("S", b"\xff" + b"passwordx" * n), f"S-redos-{n}")
        ),
        st.integers(-(2**63), 2**63 - 1).map(lambda n: (("l", n), "int64")),
        st.integers(-(2**31), 2**31 - 1).map(lambda n: (("I", n), "int32")),
        _doubles.map(lambda d: (("d", d), f"double-{d!r}")),
        st.floats(width=32, allow_nan=False, allow_infinity=False).map(
            lambda f: (("f", f), "float32")
        ),
        st.booleans().map(lambda b: (("t", b), "bool")),
        _timestamps.map(lambda t: (("T", t[0]), f"T-{t[1]}")),
        st.tuples(st.integers(0, 255), st.integers(-(2**31), 2**31 - 1)).map(
            lambda d: (("D", d), "decimal")
        ),
        st.binary(max_size=50).map(lambda b: (("x", b), "bytearray")),
        st.just((("V", None), "void")),
        st.just((("S", f"password={secret}"), "secret-in-value")),
    )
    nested = st.sampled_from([10, 200, 600, 3_000]).map(
        lambda depth: (nested_table(depth), f"nested-{depth}")
    )
    arrays = st.lists(scalars, max_size=4).map(
        lambda items: (("A", [v for v, _ in items]), "array")
    )
    return st.one_of(scalars, nested, arrays)


def _header_entries(secret: str) -> st.SearchStrategy[tuple[bytes | str, FieldValue, str]]:
    keys = st.one_of(
        st.text(min_size=1, max_size=20).map(lambda k: (k, "key")),
        _invalid_utf8.map(lambda k: (k, "key-invalid-utf8")),
        st.just(("x-api-key", "key-x-api-key")),
        st.just(("traceparent", "key-traceparent")),
    )
    attempts = st.sampled_from(
        [("S", "9" * 20), ("d", 1e308), ("l", 2**63 - 1), ("S", "inf"), ("l", -1), ("S", "x")]
    )
    return st.one_of(
        st.tuples(keys, _values(secret)).map(
            lambda kv: (kv[0][0], kv[1][0], kv[0][1] + "|" + kv[1][1])
        ),
        attempts.map(lambda v: ("x-svckit-attempt", v, f"attempt-{v[1]!r}"[:40])),
        st.sampled_from(
            [
                ("r" * 100, "100"),
                ("r" * 10_000, "10000"),
                ("r" * 60_000, "60000"),
                ("id:" + "passwordx" * 120, "redos"),  # 3 s in the old pattern
            ]
        ).map(lambda v: ("x-request-id", ("S", v[0]), f"request-id-{v[1]}")),
        st.sampled_from([0.3, 0.9, 1.0]).map(lambda f: ("x-huge", ("huge", f), f"huge-{f}")),
    )


def _bodies(kind: str, secret: str) -> dict[str, st.SearchStrategy[tuple[bytes, str]]]:
    """The strategies of each kind of body in `BODIES`, each giving the body and its tag."""
    depths = st.sampled_from([500, 5_000, 100_000])
    fail = f"upstream refused api_key={secret} password={secret}"
    json_values = st.recursive(st.none() | st.integers() | _short_text, st.lists, max_leaves=8)
    sizes = st.sampled_from([64 << 10, 512 << 10, 2 << 20])
    return {
        "valid": _short_text.map(lambda note: (valid_body(kind, 0, note), "valid")),
        "json": json_values.map(lambda v: (json.dumps({"seq": 0, "extra": v}).encode(), "json")),
        "deep-list": depths.map(lambda d: (b"[" * d + b"]" * d, f"deep-list-{d}")),
        "deep-dict": depths.map(lambda d: (b'{"a":' * d + b"1" + b"}" * d, f"deep-dict-{d}")),
        "secret-field": st.just(
            (json.dumps({"seq": secret, "password": secret}).encode(), "secret-field")
        ),
        "fail": st.just(
            (
                b"FAIL:" + fail.encode()
                if kind == "bytes"
                else json.dumps({"seq": 0, "fail": fail}).encode(),
                "fail",
            )
        ),
        "gzip": st.just((gzip.compress(valid_body(kind, 0, "zipped")), "gzip")),
        "gzip-bomb": st.builds(lambda: (gzip_bomb(), "gzip-bomb")),
        "gzip-members": st.builds(lambda: (gzip_member_bomb(), "gzip-members")),
        "gzip-corrupt": st.binary(max_size=40).map(
            lambda b: (b"\x1f\x8b\x08\x00" + b, "gzip-corrupt")
        ),
        "binary": st.binary(max_size=200).map(lambda b: (b, "binary")),
        "invalid-utf8": st.just((b'{"seq": 0, "note": "\xff\xfe"}', "invalid-utf8")),
        "large": sizes.map(lambda n: (b'{"seq": 0, "note": "%s"}' % (b"a" * n), f"large-{n}")),
        "empty": st.just((b"", "empty")),
        "nan-json": st.just((b'{"seq": NaN, "note": Infinity, "x": 1e999}', "nan-json")),
    }


@st.composite
def fuzz_sample(draw: st.DrawFn, case: str, secret: str) -> Sample:
    """One hostile message with a body of ``case``, for a consumer of a drawn kind.

    Its ``seq`` is set when the batch is put together.
    """
    kind = draw(st.sampled_from(KINDS))
    body, body_tag = draw(_bodies(kind, secret)[case])
    expect = "dead-lettered" if case == "fail" else "either"
    tags = [body_tag]
    properties = _properties(draw, secret, tags)
    if body_tag.startswith("gzip"):
        properties["content_encoding"] = "gzip"
    entries = draw(st.lists(_header_entries(secret), max_size=6))
    headers: list[tuple[bytes | str, FieldValue]] = []
    if draw(st.booleans()):
        # Also as bytes that are not UTF-8: a value svckit cannot write back as it came.
        key_value = draw(st.sampled_from([secret.encode(), secret.encode() + b"\xff"]))
        headers += [("x-api-key", ("S", key_value)), ("Authorization", ("S", f"Bearer {secret}"))]
        tags.append("secret-headers")
    headers += [(key, value) for key, value, _ in entries]
    tags += [tag for _, _, tag in entries]
    properties["headers"] = _fit(headers, properties, len(body))
    return Sample(0, kind, body, properties, expect, tags)


def _properties(draw: st.DrawFn, secret: str, tags: list[str]) -> dict[str, Any]:
    """The basic properties but the headers, odd ones tagged in ``tags``."""
    properties: dict[str, Any] = {"delivery_mode": draw(st.sampled_from([2, 2, 1, None]))}
    for name in ("content_type", "correlation_id", "reply_to", "type", "app_id", "cluster_id"):
        if draw(st.integers(0, 3)) == 0:
            properties[name], tag = draw(_short_strings)
            tags.append(f"{name}-{tag}")
    if draw(st.booleans()):
        properties["message_id"], tag = draw(
            _short_strings | st.just((f"password={secret}", "secret"))
        )
        tags.append(f"message_id-{tag}")
    if draw(st.integers(0, 3)) == 0:
        properties["content_encoding"] = draw(
            st.sampled_from(["gzip", "identity", "br", "x-made-up", b"\xffgz"])
        )
        tags.append(f"content_encoding-{properties['content_encoding']!r}")
    if draw(st.integers(0, 2)) == 0:
        properties["timestamp"], tag = draw(_timestamps)
        tags.append(f"timestamp-{tag}")
    if draw(st.integers(0, 3)) == 0:
        properties["priority"] = draw(st.integers(0, 255))
    if draw(st.integers(0, 3)) == 0:
        properties["expiration"] = "600000"
    if draw(st.integers(0, 3)) == 0:
        properties["user_id"] = "guest"
    return properties


def _fit(
    headers: list[tuple[bytes | str, FieldValue]], properties: dict[str, Any], body_size: int
) -> bytes:
    """Encode the headers; size a ``huge`` entry to its share of the frame; drop to fit."""
    others = [(k, v) for k, v in headers if v[0] != "huge"]
    room = HEADER_ROOM - len(content_header(body_size, properties)) - len(encode_table(others))
    fitted = [
        (k, ("S", "h" * max(int(room * v[1]) - 16, 0)) if v[0] == "huge" else v) for k, v in headers
    ]
    while fitted and len(encode_table(fitted)) > HEADER_ROOM:
        fitted.pop()
    return encode_table(fitted)


def generate(count: int, secret: str) -> list[Sample]:
    """``count`` hostile samples, each followed by a valid neighbour: ``2 * count`` in all.

    Each kind of body in `BODIES` gets its share; the draws are derandomized, so the same
    ``count`` gives the same shapes run after run (the secret and the ids change). Under
    pytest a draw or two differ from a plain script's (hypothesis reads its environment).
    """
    share = -(-count // len(BODIES))
    per_case = [_draw(case, share, secret) for case in BODIES]
    hostile = [batch[i] for i in range(share) for batch in per_case if i < len(batch)][:count]
    samples: list[Sample] = []
    for sample in hostile:
        sample.seq = len(samples)
        samples.extend(
            [sample, neighbour(sample.seq + 1, KINDS[sample.seq % 3], gzipped=sample.seq % 8 == 0)]
        )
    return samples


def _draw(case: str, count: int, secret: str) -> list[Sample]:
    drawn: list[Sample] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz_sample(case, secret))
    def collect(sample: Sample) -> None:
        drawn.append(sample)

    collect()
    return drawn
