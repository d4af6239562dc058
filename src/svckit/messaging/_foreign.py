"""Foreign values made safe to read and to write back to the broker.

A delivery's headers and properties come from whoever published it: any type, any size,
values that the AMQP encoder (pamqp) refuses. svckit copies them onto its retry and
dead-letter copies, so each is checked against what pamqp encodes (``pamqp/encode.py``):

- ``bool``, ``None``; ``int`` in the signed 64-bit range; a finite ``float`` within the
  32-bit range (pamqp writes table floats as ``f``; RabbitMQ closes the connection of a
  client that sends infinity or NaN, which Erlang cannot hold); ``decimal.Decimal``
  with a scale of 0-255 and a 32-bit mantissa; ``str`` that is valid UTF-8; ``bytes``
  (pamqp decodes a long string that is not UTF-8 as ``bytes``) written back as a byte
  array; ``datetime`` from 1970 on; tables (``dict``, keys of at most 128 bytes of UTF-8)
  and arrays (``list``), at most `MAX_DEPTH` deep.

What fails is left out and its header named, and the whole table stays within a byte
budget (the header frame must fit the connection's frame size).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "MAX_DEPTH",
    "encodable_headers",
    "encoded_size",
    "note",
    "printable",
    "sane_int",
    "short_text",
]

#: How deeply tables and arrays may nest in a header that is copied.
MAX_DEPTH = 16
#: pamqp truncates longer field names (and logs them): such keys are left out instead.
KEY_LIMIT = 128
#: The longest short string (property values, routing keys), in bytes.
SHORT_LIMIT = 255
#: The longest note listing left-out names, in characters.
NOTE_LIMIT = 1000

_INT64 = 2**63
_FLOAT32_MAX = struct.unpack(">f", b"\x7f\x7f\xff\xff")[0]


class _Unencodable(Exception):  # noqa: N818 - private control flow
    """The value cannot be encoded (or not within the budget)."""


def encodable_headers(headers: Mapping[Any, Any], budget: int) -> tuple[dict[str, Any], list[str]]:
    """Keep what pamqp can encode of ``headers``, within ``budget`` encoded bytes.

    Headers are kept in their order while they fit; nested values that cannot be
    encoded are left out of their table or array.

    Returns:
        The encodable headers, and the names of those left out or changed.
    """
    clean: dict[str, Any] = {}
    dropped: list[str] = []
    used = 4
    for key, value in headers.items():
        name = _key(key)
        if name is None:
            dropped.append(printable(key, 64))
            continue
        walker = _Walker(budget - used - 1 - len(name.encode()))
        try:
            cleaned, size = walker.clean(value, 0)
        except _Unencodable:
            dropped.append(name)
            continue
        if walker.lossy:
            dropped.append(name)
        clean[name] = cleaned
        used += 1 + len(name.encode()) + size
    return clean, dropped


def encoded_size(headers: Mapping[str, Any]) -> int:
    """The size in bytes of an encodable header table, as pamqp writes it."""
    walker = _Walker(2**62)
    # As a table value it would also carry a type byte; the header table itself does not.
    return walker.clean(dict(headers), 0)[1] - 1


def _key(key: object) -> str | None:
    if not isinstance(key, str):
        return None
    try:
        size = len(key.encode())
    except UnicodeEncodeError:
        return None
    return key if size <= KEY_LIMIT else None


class _Walker:
    """Cleans one header value, failing once it would pass its budget."""

    def __init__(self, budget: int) -> None:
        self.left = budget
        self.lossy = False

    def _take(self, size: int) -> int:
        self.left -= size
        if self.left < 0:
            raise _Unencodable
        return size

    def clean(self, value: Any, depth: int) -> tuple[Any, int]:  # noqa: C901, PLR0911 - one per type
        if value is None or isinstance(value, bool):
            return value, self._take(1 if value is None else 2)
        if isinstance(value, int):
            return value, self._take(1 + _int_size(value))
        if isinstance(value, float):
            if not (math.isfinite(value) and abs(value) <= _FLOAT32_MAX):
                raise _Unencodable
            return value, self._take(5)
        if isinstance(value, str):
            try:
                data = value.encode()
            except UnicodeEncodeError:
                raise _Unencodable from None
            return value, self._take(5 + len(data))
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytearray(value)
            return raw, self._take(5 + len(raw))
        if isinstance(value, decimal.Decimal):
            _check_decimal(value)
            return value, self._take(6)
        if isinstance(value, dt.datetime):
            _check_timestamp(value)
            return value, self._take(9)
        if isinstance(value, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise _Unencodable
            if isinstance(value, dict):
                return self._table(value, depth)
            return self._array(value, depth)
        raise _Unencodable

    def _table(self, value: Mapping[Any, Any], depth: int) -> tuple[dict[str, Any], int]:
        size = self._take(5)
        table: dict[str, Any] = {}
        for key, item in value.items():
            name = _key(key)
            if name is None:
                self.lossy = True
                continue
            left = self.left
            try:
                key_size = self._take(1 + len(name.encode()))
                table[name], item_size = self.clean(item, depth + 1)
            except _Unencodable:
                if self.left < 0:
                    raise
                self.left, self.lossy = left, True
                continue
            size += key_size + item_size
        return table, size

    def _array(self, value: Iterable[Any], depth: int) -> tuple[list[Any], int]:
        size = self._take(5)
        array: list[Any] = []
        for item in value:
            left = self.left
            try:
                cleaned, item_size = self.clean(item, depth + 1)
            except _Unencodable:
                if self.left < 0:
                    raise
                self.left, self.lossy = left, True
                continue
            array.append(cleaned)
            size += item_size
        return array, size


def _int_size(value: int) -> int:
    if not -_INT64 <= value < _INT64:
        raise _Unencodable
    if -128 <= value <= 127:  # noqa: PLR2004 - pamqp's ranges
        return 1
    if -32768 <= value <= 65535:  # noqa: PLR2004
        return 2
    if -(2**31) <= value < 2**32:
        return 4
    return 8


def _check_decimal(value: decimal.Decimal) -> None:
    exponent = value.as_tuple().exponent
    # A large positive exponent would make pamqp build a huge integer: refuse it first.
    if not isinstance(exponent, int) or not -255 <= exponent <= 9:  # noqa: PLR2004
        raise _Unencodable
    mantissa = int(value) if exponent > 0 else int(value.scaleb(-exponent))
    if not -(2**31) <= mantissa < 2**31:
        raise _Unencodable


def _check_timestamp(value: dt.datetime) -> None:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        seconds = int(value.timestamp())
    except (OverflowError, ValueError, OSError):
        raise _Unencodable from None
    if seconds < 0:
        raise _Unencodable


def short_text(value: object) -> str | None:
    """``value`` if it is text that fits an AMQP short string (255 bytes of UTF-8)."""
    if not isinstance(value, str):
        return None
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return None
    return value if size <= SHORT_LIMIT else None


def sane_int(value: object, low: int, high: int) -> int | None:
    """``value`` as an int in ``[low, high]``: an int, or a short string of digits."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("ascii", "replace")
    if isinstance(value, str):
        text = value.strip()
        if not (0 < len(text) <= len(str(high)) and text.isascii() and text.isdigit()):
            return None
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def printable(value: object, limit: int) -> str:
    """A foreign value as a short line of text, safe for a terminal or a header."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: limit * 4]).decode("utf-8", "backslashreplace")
    text = value if isinstance(value, str) else type(value).__name__
    text = text[:limit]
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return escaped.encode("utf-8", "backslashreplace").decode()[:limit]


def note(names: list[str]) -> str:
    """Names as one comma-separated ASCII header value, at most `NOTE_LIMIT` characters."""
    text = ",".join(names).encode("ascii", "backslashreplace").decode()
    if len(text) <= NOTE_LIMIT:
        return text
    kept = text[: NOTE_LIMIT - 40].rsplit(",", 1)[0]
    return f"{kept},... ({len(names) - kept.count(',') - 1} more)"
