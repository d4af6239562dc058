"""A delivery's body as its handler reads it: content encoding undone, content type checked.

- ``content_encoding``: absent, ``identity`` (or ``utf-8``, ``utf8``, ``binary``, which some
  clients put there) leaves the body as it is; ``gzip`` (``x-gzip``) and ``deflate``
  (zlib format) are decompressed, incrementally, to at most `MAX_BODY` bytes. Anything
  else, a corrupt or truncated stream, or a larger result is poison.
- ``content_type``, for handlers that read JSON (a model, ``dict``, any pydantic type):
  absent, ``application/json`` or any ``+json`` type (parameters such as ``charset``
  ignored). Anything else is poison. ``bytes`` and ``Incoming`` handlers take any type.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from svckit.core.errors import DecodeError
from svckit.messaging._foreign import printable

if TYPE_CHECKING:
    from svckit.messaging.transport import Delivery

__all__ = ["MAX_BODY", "read_body"]

#: The largest body a handler is given once its content encoding is undone, in bytes.
MAX_BODY = 16 * 1024 * 1024

_IDENTITY = frozenset({"", "identity", "utf-8", "utf8", "binary"})
# zlib's window bits: 16 + 15 reads the gzip format, 15 the zlib format.
_COMPRESSED = {"gzip": 31, "x-gzip": 31, "deflate": 15}
_CHUNK = 64 * 1024


def read_body(delivery: Delivery, *, json: bool) -> bytes:
    """The body its handler reads: decompressed and, for a JSON handler, of a JSON type.

    Raises:
        DecodeError: the encoding is not supported or corrupt, the result is larger than
            `MAX_BODY`, or a JSON handler was sent another content type.
    """
    if json:
        _check_json_type(delivery.content_type)
    encoding = delivery.content_encoding
    name = encoding.strip().lower() if isinstance(encoding, str) else ""
    if name in _IDENTITY:
        return delivery.body
    wbits = _COMPRESSED.get(name)
    if wbits is None:
        raise DecodeError(
            f"unsupported content encoding '{printable(encoding, 64)}' "
            "(svckit reads gzip, deflate and identity)",
        )
    return _decompress(delivery.body, wbits, name)


def _check_json_type(content_type: str | None) -> None:
    media = content_type.split(";", 1)[0].strip().lower() if content_type else ""
    if media in {"", "application/json"} or media.endswith("+json"):
        return
    raise DecodeError(
        f"content type '{printable(content_type, 64)}' is not JSON "
        "(the handler reads application/json or a +json type)",
    )


def _decompress(body: bytes, wbits: int, name: str) -> bytes:
    out = bytearray()
    data = body
    # gzip allows several members one after another; each gets a fresh decompressor.
    while True:
        stream = zlib.decompressobj(wbits)
        try:
            while data:
                out += stream.decompress(data, MAX_BODY + 1 - len(out))
                if len(out) > MAX_BODY:
                    raise DecodeError(f"the {name} body is larger than {MAX_BODY} bytes")
                data = stream.unconsumed_tail
                if stream.eof:
                    break
        except zlib.error as exc:
            raise DecodeError(f"the {name} body is corrupt: {exc}") from None
        if not stream.eof:
            raise DecodeError(f"the {name} body is truncated")
        data = stream.unused_data
        if not (data and name != "deflate"):
            return bytes(out)
