"""Content keys: what makes a key safe to use as a Redis key and as a path on disk.

A key is 1 to `MAX_KEY_LENGTH` ASCII characters from ``A-Z a-z 0-9 . _ - /``, made of
segments separated by single slashes. No segment is empty or starts with a dot, so a key
never starts or ends with ``/``, never holds ``//``, ``.`` or ``..``, and cannot name a
hidden file or leave the store's directory. The check is a length test, one character
class and a split: linear in the key, and bounded before any of it runs.
"""

from __future__ import annotations

import re

from svckit.core.errors import InvalidKeyError

__all__ = ["MAX_KEY_LENGTH", "check_key"]

#: The longest key, in characters (each segment also stays far below a file name's limit).
MAX_KEY_LENGTH = 512
#: The longest segment: file systems allow 255 bytes per name, the file backend adds a few.
MAX_SEGMENT_LENGTH = 200

_SHOWN = 64
_ALPHABET = re.compile(r"[A-Za-z0-9._/-]+")


def check_key(key: object) -> str:
    """Return ``key`` if it is a safe content key.

    Raises:
        InvalidKeyError: It is not a string, is empty or too long, has a character
            outside the alphabet, an empty segment or a segment that starts with a dot.
    """
    if not isinstance(key, str):
        raise InvalidKeyError(f"a content key is a str, not {type(key).__name__}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"a content key is 1 to {MAX_KEY_LENGTH} characters, not {len(key)}")
    if not _ALPHABET.fullmatch(key):
        raise InvalidKeyError(
            f"invalid content key {_shown(key)}: use letters, digits, '.', '_', '-' and '/'"
        )
    for segment in key.split("/"):
        if not segment or segment.startswith(".") or len(segment) > MAX_SEGMENT_LENGTH:
            raise InvalidKeyError(
                f"invalid content key {_shown(key)}: every '/'-separated part is 1 to "
                f"{MAX_SEGMENT_LENGTH} characters and does not start with '.'"
            )
    return key


def _shown(key: str) -> str:
    # The key is foreign input: show a bounded, escaped prefix of it.
    return repr(key[:_SHOWN]) + ("..." if len(key) > _SHOWN else "")
