"""Values to bytes and back: JSON through pydantic, raw bytes untouched, never pickle."""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import TypeAdapter

__all__ = ["decode", "encode"]

# One adapter per type for the life of the process: building a TypeAdapter compiles a
# validator, far too slow to do on every read.
_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(type_: Any) -> TypeAdapter[Any]:
    try:
        return _adapters[type_]
    except KeyError:
        adapter = _adapters[type_] = TypeAdapter(type_)
        return adapter
    except TypeError:  # an unhashable type form; rare enough to build each time
        return TypeAdapter(type_)


def encode(value: Any) -> bytes:
    """The stored form of ``value``: bytes as they are, anything else as JSON.

    Raises:
        TypeError: pydantic cannot serialise the value to JSON.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    try:
        # by_alias so that a model with aliases validates back; NaN and infinities as JSON
        # constants, which pydantic's validator reads back as floats.
        return pydantic_core.to_json(value, by_alias=True, inf_nan_mode="constants")
    except pydantic_core.PydanticSerializationError as exc:
        raise TypeError(
            f"cannot store a {type(value).__name__} in the cache: pydantic cannot "
            "serialise it to JSON",
        ) from exc


def decode(raw: bytes, type_: Any) -> Any:
    """Read ``raw`` back as ``type_``: bytes as they are, anything else from JSON.

    Raises:
        pydantic.ValidationError: ``raw`` is not a valid ``type_``.
    """
    if type_ is bytes:
        return raw
    return _adapter(type_).validate_json(raw)
