"""Redaction of secrets in log lines, span events and error text.

Two kinds of secret are found:

- values stored under a key that names a secret (``password``, ``api_key``,
  ``Authorization``...), in the log line itself or in nested dicts and lists;
- secrets inside text: the password of a URL (``amqp://user:***@host``), the
  credential after ``Bearer`` or after an ``Authorization`` header, a ``key=value``
  pair whose key names a secret, and a Telegram bot token (``/bot123:***/``).

pydantic's ``SecretStr`` and ``SecretBytes`` always become the mask. Every pattern is
compiled once, and values that are not text (numbers, booleans, None) are left as they
are without being looked at.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import SecretBytes, SecretStr

if TYPE_CHECKING:
    from structlog.typing import EventDict, WrappedLogger

__all__ = ["MASK", "is_secret_key", "redact_event", "redact_text", "redact_value"]

#: What a secret is replaced with.
MASK = "***"

# Words that make a key (or the key of a ``key=value`` pair in text) secret.
_SENSITIVE_WORDS = (
    r"passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key"
    r"|cookie|jwt|credential|private[_-]?key|session[_-]?id"
)
_SECRET_KEY = re.compile(rf"{_SENSITIVE_WORDS}|authori[sz]ation", re.IGNORECASE)

# A value in text: quoted (masked up to its closing quote, spaces and all) or bare
# (masked up to the next space or separator).
_VALUE = r"(?:'[^']*'|\"[^\"]*\"|[^\s'\"&,;}\])]+)"

# The password of a URL's userinfo. The authority ends at the first ``/``, ``?`` or
# ``#``; the greedy run then backtracks to its last ``@``, as URL parsers do, so a
# password holding ``@`` or ``:`` is still masked whole.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#:@]*:)[^\s/?#]*@")

# A Telegram bot token: the bot's numeric id, a colon and the secret part. The id is
# the bot's public user id, so it stays readable and only the secret part is masked.
_BOT_TOKEN = re.compile(r"(?:(?<=bot)|(?<![\w-]))(\d+):[A-Za-z0-9_-]{30,}")

# An Authorization header as text (``Authorization: Basic ...``, a dict's repr, an
# ``authorization=...`` pair): the scheme stays, the credential goes.
_AUTH_HEADER = re.compile(
    r"(\b(?:proxy-)?authori[sz]ation['\"]?\s*[:=]\s*)"
    r"(['\"])?(?:(bearer|basic|digest|negotiate|token)\s+)?"
    r"(?(2)[^'\"]*['\"]|[^\s'\",;}\])]+)",
    re.IGNORECASE,
)

# A bearer credential anywhere: ``Bearer`` is rare in prose and always precedes a token.
_BEARER = re.compile(r"\b(bearer)\s+(?!\*\*\*)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)

# ``password=hunter2``, ``"api_key": "abc"``, ``?token=abc&...``: the value after a key
# that names a secret (Authorization has its own pattern above, which keeps the scheme).
_KEY_VALUE = re.compile(
    rf"([\w-]*(?:{_SENSITIVE_WORDS})[\w-]*['\"]?\s*[=:]\s*)(?!['\"]?\*\*\*){_VALUE}",
    re.IGNORECASE,
)

# Substrings of the lower-cased text without which a pattern cannot match. Looking for
# them is far cheaper than running the patterns, and most text has none.
_KEY_HINT = re.compile("pass|pwd|secret|token|key|cookie|jwt|credential|session")
# The shortest bot token: one digit, a colon and thirty characters.
_BOT_TOKEN_MIN_LENGTH = 32
# Keys whose values svckit's own processors write; they never hold a secret.
_OWN_KEYS = frozenset({"level", "logger", "service", "span_id", "timestamp", "trace_id"})


def _masked_header(match: re.Match[str]) -> str:
    quote, scheme = match.group(2) or "", match.group(3)
    credential = f"{scheme} {MASK}" if scheme else MASK
    return f"{match.group(1)}{quote}{credential}{quote}"


def _masked_value(match: re.Match[str]) -> str:
    value = match.group(0)[len(match.group(1)) :]
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match.group(1)}{quote}{MASK}{quote}"


def redact_text(text: str) -> str:
    """Mask the secrets inside a piece of text.

    Args:
        text: A log message, an exception's text, a URL, a header's value.

    Returns:
        The text with URL passwords, Authorization credentials, bearer tokens, secret
        ``key=value`` pairs and Telegram bot tokens replaced by ``***``.

    Example:
        >>> redact_text("connecting to amqp://guest:hunter2@rabbit/")
        'connecting to amqp://guest:***@rabbit/'
    """
    lower = text.lower()
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    if len(text) >= _BOT_TOKEN_MIN_LENGTH and ":" in text:
        text = _BOT_TOKEN.sub(rf"\g<1>:{MASK}", text)
    if "authori" in lower:
        text = _AUTH_HEADER.sub(_masked_header, text)
    if "bearer" in lower:
        text = _BEARER.sub(rf"\g<1> {MASK}", text)
    if ("=" in text or ":" in text) and _KEY_HINT.search(lower):
        text = _KEY_VALUE.sub(_masked_value, text)
    return text


@lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``X-Api-Key``, ``jwt``...).

    The match is case-insensitive and looks for the secret word anywhere in the key,
    so ``db_password`` and ``refresh_token`` count too.
    """
    return _SECRET_KEY.search(key) is not None


def redact_value(value: Any) -> Any:
    """Mask the secrets in a value of any shape.

    Text is searched with `redact_text`; dicts have the values under secret keys
    replaced and the others redacted in turn; lists, tuples and sets are redacted item
    by item; ``SecretStr`` and ``SecretBytes`` become the mask. Numbers, booleans and
    None come back unchanged. Any other object is turned into its ``repr`` (which is how
    a log renderer would show it) and that text is redacted.
    """
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and is_secret_key(key) else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return _redact_object(value)


def _redact_object(value: object) -> str:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, bytes | bytearray):
        return redact_text(value.decode("utf-8", "backslashreplace"))
    return redact_text(repr(value))


def redact_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor that masks the secrets in a log line before it is rendered.

    Put it after the processors that render exceptions and stack traces to text (so
    that text is redacted too) and right before the renderer.
    """
    for key, value in event_dict.items():
        if key in _OWN_KEYS:
            continue
        if is_secret_key(key):
            event_dict[key] = MASK
        elif value is None or isinstance(value, bool | int | float):
            continue
        else:
            event_dict[key] = redact_value(value)
    return event_dict
