"""Redaction of secrets in log lines, span events and error text.

Two kinds of secret are found:

- values stored under a key that names a secret (``password``, ``api_key``,
  ``Authorization``...), in the log line itself or in nested dicts and lists;
- secrets inside text: the password of a URL (``amqp://user:***@host``), the
  credential after ``Bearer`` or after an ``Authorization`` header, a ``key=value``
  pair (or ``'key': 'value'``, ``('key', 'value')``, ``key error: ...``) whose key names
  a secret, and a Telegram bot token (``/bot123:***/``).

pydantic's ``SecretStr`` and ``SecretBytes`` always become the mask. Values that are not
text (numbers, booleans, None) are left as they are without being looked at.

Text comes from the wire (error text quoting a header, a request id), so every pattern
runs in time linear in its input: each starts at a literal or at the start of a word
and uses only possessive or self-delimiting runs, so no run is read twice. What a log
line holds is bounded as well: `redact_value` and `redact_event` cut long text (and
marks the cut, ``…[+N chars]``) before looking for secrets in it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from pydantic import SecretBytes, SecretStr

if TYPE_CHECKING:
    from structlog.typing import EventDict, WrappedLogger

__all__ = [
    "FIELD_LIMIT",
    "MASK",
    "TRACEBACK_LIMIT",
    "bound_text",
    "is_secret_key",
    "redact_event",
    "redact_text",
    "redact_value",
]

#: What a secret is replaced with.
MASK = "***"
#: The longest text kept of one logged value (an id, an error's text, a header).
FIELD_LIMIT = 2048
#: The longest rendered exception or stack trace kept in one log line.
TRACEBACK_LIMIT = 8192
# Log keys holding a rendered exception or stack (structlog's format_exc_info and
# StackInfoRenderer write them), which get the larger limit.
_TRACEBACK_KEYS = frozenset({"exception", "stack"})
# Text is read up to this many times its limit (redaction costs what it reads), then
# cut at the limit, preferably at the last whitespace this close before it, so that no
# word is cut in two.
_READ_FACTOR = 4
_MARGIN = 512
# Containers in a log line keep this many items, nested this deep; mapping keys are cut
# at this length.
_MAX_ITEMS = 100
_MAX_DEPTH = 8
_KEY_LIMIT = 256
# A masked value this long is masked wherever else it appears in the same text, for the
# first few such values (each costs one pass over the text).
_ECHO_MIN_LENGTH = 8
_ECHO_MAX = 8

# Words that make a key (or the key of a ``key=value`` pair in text) secret.
_SENSITIVE_WORDS = (
    r"passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key"
    r"|cookie|jwt|credential|private[_-]?key|session[_-]?id"
)
_SECRET_KEY = re.compile(rf"{_SENSITIVE_WORDS}|authori[sz]ation", re.IGNORECASE)

# The words are looked for in the lower-cased text, where a plain search skips ahead on
# their first letters; each match is then taken to the end of its key (a word of
# ``[\w-]``), and what follows the key decides whether a value is masked.
_WORD = re.compile(_SENSITIVE_WORDS)
_WORD_ANY_CASE = re.compile(_SENSITIVE_WORDS, re.IGNORECASE)
_KEY_REST = re.compile(r"[\w-]*+")

# A value in text: quoted (masked up to its closing quote, spaces and all, or to the end
# of a text that was cut inside it) or bare (masked up to the next space or separator).
_VALUE = r"(?:'[^']*+'?|\"[^\"]*+\"?|[^\s'\"&,;}\])]++)"
# Not a value that is already the mask, so that redacting twice changes nothing.
_NOT_MASKED = r"(?!['\"]?\*\*\*)"

# The password of a URL's userinfo. The authority ends at the first ``/``, ``?`` or
# ``#``; the greedy run then backtracks to its last ``@``, as URL parsers do, so a
# password holding ``@`` or ``:`` is still masked whole. Only tried at a ``://`` after a
# scheme's character (the literal first lets the search skip ahead to it), and an
# authority holds no ``/``, so no two attempts overlap.
_URL_PASSWORD = re.compile(r"(://(?<=[A-Za-z0-9+.-]://)[^\s/?#:@]*+:)[^\s/?#]*@")

# A Telegram bot token: the bot's numeric id, a colon and the secret part. The id is
# the bot's public user id, so it stays readable and only the secret part is masked.
_BOT_TOKEN = re.compile(r"(?:(?<=bot)|(?<![\w-]))(\d++):[A-Za-z0-9_-]{30,}+")

# An Authorization header as text (``Authorization: Basic ...``, a dict's repr, an
# ``authorization=...`` pair): the scheme stays, the credential goes.
_AUTH_HEADER = re.compile(
    r"(\b(?:proxy-)?authori[sz]ation['\"]?\s*+[:=]\s*+)"
    r"(['\"])?(?:(bearer|basic|digest|negotiate|token)\s++)?"
    r"(?(2)[^'\"]*+['\"]?|[^\s'\",;}\])]++)",
    re.IGNORECASE,
)

# A bearer credential anywhere: ``Bearer`` is rare in prose and always precedes a token.
_BEARER = re.compile(r"\b(bearer)\s++(?!\*\*\*)[A-Za-z0-9._~+/-]++=*+", re.IGNORECASE)

# After a key that names a secret, the value that goes: ``password=hunter2``,
# ``"api_key": "abc"``, ``?token=abc&...``; ``('x-api-key', 'abc')`` (a header as a pair,
# if the key opened the pair); ``x-api-key error: ...`` (an encoder's error about a
# field, which quotes the field's value somewhere in the rest of the line).
# Authorization has its own pattern above, which keeps the scheme.
_AFTER_KEY = re.compile(
    r"(?:['\"]?\s*+[=:]|(?P<pair>['\"])\s*+,|\s++error:(?P<line>))\s*+"
    # A bytes value's repr (b'...') keeps its prefix.
    rf"(?:b(?=['\"]))?+{_NOT_MASKED}(?P<value>(?(line)[^\r\n]++|{_VALUE}))"
)

# Substrings of the lower-cased text without which a pattern cannot match. Looking for
# them is far cheaper than running the patterns, and most text has none.
_KEY_HINT = re.compile("pass|pwd|secret|token|key|cookie|jwt|credential|session")
# The shortest bot token: one digit, a colon and thirty characters.
_DIGIT_COLON = re.compile(r"\d:")
_BOT_TOKEN_MIN_LENGTH = 32
# Keys whose values svckit's own processors write; they never hold a secret.
# Values that cannot hold a secret, by exact type (subclasses are checked as such).
_PLAIN = frozenset({int, float, bool, type(None)})
# Text this short is redacted once and remembered (1,024 of them at most).
_CACHED_LENGTH = 128
_OWN_KEYS = frozenset({"level", "logger", "service", "span_id", "timestamp", "trace_id"})


def _masked_header(match: re.Match[str]) -> str:
    quote, scheme = match.group(2) or "", match.group(3)
    credential = f"{scheme} {MASK}" if scheme else MASK
    value = match.group(0)[len(match.group(1)) + len(quote) :]
    # A text cut inside the quotes has no closing quote: none is added.
    closing = quote if quote and value.endswith(("'", '"')) else ""
    return f"{match.group(1)}{quote}{credential}{closing}"


def bound_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with how much was left out.

    Args:
        text: Any text, such as an id or an error's message from the wire.
        limit: The most characters of ``text`` to keep.

    Returns:
        ``text`` itself when it is short enough, else its first ``limit`` characters
        followed by ``…[+N chars]``.

    Example:
        >>> bound_text("a" * 10, 4)
        'aaaa…[+6 chars]'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[+{len(text) - limit} chars]"


def redact_text(text: str, limit: int | None = None, *, tail: bool = False) -> str:
    """Mask the secrets inside a piece of text, in time linear in its length.

    Args:
        text: A log message, an exception's text, a URL, a header's value.
        limit: If given, at most this many characters are kept (cut preferably at a
            space, and marked ``…[+N chars]``, N counted in the text as given). Only
            ``4 * limit`` characters are read, so the cost is bounded too; a secret
            that straddles the cut is masked, since it was read whole.
        tail: Keep the end of a long text rather than its start (the end of a
            traceback says the most); the mark then comes first, ``[+N chars]…``.

    Returns:
        The text with URL passwords, Authorization credentials, bearer tokens, secret
        ``key=value`` pairs and Telegram bot tokens replaced by ``***``.

    Example:
        >>> redact_text("connecting to amqp://guest:hunter2@rabbit/")
        'connecting to amqp://guest:***@rabbit/'
    """
    if limit is None or len(text) <= limit:
        return _redact_any(text)
    read = limit * _READ_FACTOR
    redacted = _redact(text[-read:] if tail else text[:read])
    if len(redacted) <= limit and len(text) <= read:
        return redacted
    if tail:
        start = len(redacted) - limit
        ceiling = start + _MARGIN
        spaces = [
            i
            for i in (redacted.find(" ", start, ceiling), redacted.find("\n", start, ceiling))
            if i >= 0
        ]
        if spaces:
            start = min(spaces) + 1
        return f"[+{max(0, len(text) - len(redacted) + start)} chars]…{redacted[start:]}"
    floor = max(0, limit - _MARGIN)
    cut = max(redacted.rfind(" ", floor, limit), redacted.rfind("\n", floor, limit))
    if cut <= 0:
        cut = limit
    return f"{redacted[:cut]}…[+{max(0, len(text) - cut)} chars]"


def _redact_any(text: str) -> str:
    # Short text repeats from line to line (messages, methods, routes, statuses as text):
    # it is redacted once. Only short text is remembered, so the cache stays small.
    if len(text) <= _CACHED_LENGTH:
        return _redact_short(text)
    return _redact(text)


def _redact(text: str) -> str:
    lower = text.lower()
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    if len(text) >= _BOT_TOKEN_MIN_LENGTH and _DIGIT_COLON.search(text):
        text = _BOT_TOKEN.sub(rf"\g<1>:{MASK}", text)
    # Values under secret names go before the credentials after a scheme word: in
    # "Bearer password=..." the word after "Bearer" is a key, and its value is the secret.
    if _KEY_HINT.search(lower) and ("=" in text or ":" in text or "," in text):
        text = _mask_values_of_secret_keys(text)
    if "authori" in lower:
        text = _AUTH_HEADER.sub(_masked_header, text)
    if "bearer" in lower:
        text = _BEARER.sub(rf"\g<1> {MASK}", text)
    return text


_redact_short = lru_cache(maxsize=1024)(_redact)


def _mask_values_of_secret_keys(text: str) -> str:
    lower = text.lower()
    words = _WORD
    if len(lower) != len(text):
        # A letter whose lower case is longer (such as "İ") shifts the positions.
        lower, words = text, _WORD_ANY_CASE
    parts: list[str] = []
    echoes: set[str] = set()
    done = pos = 0
    while (word := words.search(lower, pos)) is not None:
        key_end = _KEY_REST.match(text, word.end()).end()  # type: ignore[union-attr]
        after = _AFTER_KEY.match(text, key_end)
        if after is None or (after["pair"] and not _opens_pair(text, word.start(), after["pair"])):
            # Any other secret word in this key ends at the same place: skip the key.
            pos = key_end
            continue
        value, start = after["value"], after.start("value")
        quote = value[0] if after["line"] is None and value[0] in "'\"" else ""
        closing = quote if quote and len(value) > 1 and value[-1] == quote else ""
        parts += (text[done:start], quote, MASK, closing)
        done = pos = after.end()
        secret = value[len(quote) : len(value) - len(closing)]
        if len(secret) >= _ECHO_MIN_LENGTH and len(echoes) < _ECHO_MAX:
            echoes.add(secret)
    if not parts:
        return text
    parts.append(text[done:])
    masked = "".join(parts)
    # The same value elsewhere in the text, where no key names it: a chained exception's
    # cause says "Unknown type: ... (value)", and only its effect names the header.
    for secret in echoes:
        masked = masked.replace(secret, MASK)
    return masked


def _opens_pair(text: str, word_start: int, quote: str) -> bool:
    # Whether the key starts a tuple's repr, ``('key', ...``.
    start, floor = word_start, max(0, word_start - _KEY_LIMIT)
    while start > floor and (text[start - 1].isalnum() or text[start - 1] in "_-"):
        start -= 1
    return text[start - 2 : start] == f"({quote}"


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``X-Api-Key``, ``jwt``...).

    The match is case-insensitive and looks for the secret word anywhere in the key,
    so ``db_password`` and ``refresh_token`` count too.
    """
    if len(key) > _KEY_LIMIT:
        # Not remembered: a hostile key must not fill the cache with megabytes.
        return _SECRET_KEY.search(key) is not None
    return _is_secret_short_key(key)


@lru_cache(maxsize=1024)
def _is_secret_short_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def redact_value(value: Any, limit: int = FIELD_LIMIT) -> Any:
    """Mask the secrets in a value of any shape, and bound its size.

    Text is cut to ``limit`` characters and searched with `redact_text`; dicts have the
    values under secret keys replaced and the others redacted in turn, and so has a
    ``(name, value)`` pair whose name names a secret (a header in a list of headers);
    lists, tuples and sets are redacted item by item; ``SecretStr`` and ``SecretBytes``
    become the mask.
    Containers keep their first 100 items, 8 levels deep. Numbers, booleans and None
    come back unchanged. Any other object is turned into its ``repr`` (which is how a
    log renderer would show it) and that text is redacted.

    Args:
        value: What is about to be logged.
        limit: The most characters kept of each piece of text in ``value``.
    """
    return _redact_value(value, limit, 0)


def _redact_value(value: Any, limit: int, depth: int) -> Any:
    if isinstance(value, str):
        return redact_text(value, limit)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict | list | tuple | set | frozenset):
        return _redact_container(value, limit, depth)
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "backslashreplace"), limit)
    return redact_text(repr(value), limit)


def _redact_container(
    value: dict[Any, Any] | list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any],
    limit: int,
    depth: int,
) -> Any:
    if depth >= _MAX_DEPTH:
        return "…[nested too deep]"
    left_out = len(value) - _MAX_ITEMS
    if isinstance(value, dict):
        redacted = {
            _redact_key(key): MASK
            if isinstance(key, str) and is_secret_key(key)
            else _redact_value(item, limit, depth + 1)
            for key, item in islice(value.items(), _MAX_ITEMS)
        }
        if left_out > 0:
            redacted["…"] = f"[+{left_out} items]"
        return redacted
    if isinstance(value, tuple) and _is_secret_pair(value):
        return [value[0], MASK]
    items = [_redact_value(item, limit, depth + 1) for item in islice(value, _MAX_ITEMS)]
    if left_out > 0:
        items.append(f"…[+{left_out} items]")
    return items


def _is_secret_pair(value: tuple[Any, ...]) -> bool:
    # A header as a (name, value) pair, as a list of headers holds it.
    return (
        len(value) == 2  # noqa: PLR2004 - a pair
        and isinstance(value[0], str)
        and len(value[0]) <= _KEY_LIMIT
        and _KEY_REST.fullmatch(value[0]) is not None
        and is_secret_key(value[0])
    )


def _redact_key(key: Any) -> Any:
    return redact_text(key, _KEY_LIMIT) if isinstance(key, str) else key


def redact_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor that bounds a log line's values and masks their secrets.

    Each value's text is cut at `FIELD_LIMIT` characters before it is searched; a
    rendered exception or stack keeps its last `TRACEBACK_LIMIT` characters. Put it
    after the processors that render exceptions and stack traces to text (so that text
    is bounded and redacted too) and right before the renderer.
    """
    for key, value in event_dict.items():
        if key in _OWN_KEYS:
            continue
        if is_secret_key(key):
            event_dict[key] = MASK
            continue
        kind = type(value)
        if kind is str and len(value) <= FIELD_LIMIT:
            # What redact_text does for text within every limit, without its detours.
            event_dict[key] = _redact_any(value)
        elif kind in _PLAIN or value is None or isinstance(value, bool | int | float):
            continue
        elif key in _TRACEBACK_KEYS and isinstance(value, str):
            event_dict[key] = redact_text(value, TRACEBACK_LIMIT, tail=True)
        else:
            event_dict[key] = redact_value(value, FIELD_LIMIT)
    return event_dict
