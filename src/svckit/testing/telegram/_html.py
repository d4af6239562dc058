"""Telegram's HTML parse mode, checked as the Bot API checks it.

`visible_text` returns the text a user would see (tags removed, entities decoded), or
raises `EntityError` with the message Telegram gives ("Can't parse entities: ..."). The
scanner is one pass over the text: no regular expression with nested repetition runs on
what a bot sends.
"""

from __future__ import annotations

import html

__all__ = ["EntityError", "utf16_length", "visible_text"]

# The tags the Bot API accepts (https://core.telegram.org/bots/api#html-style).
_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "u",
    },
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz-0123456789")


class EntityError(ValueError):
    """Text in the HTML parse mode that Telegram would refuse."""


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(text: str) -> str:
    """The text without its tags, entities decoded; `EntityError` if Telegram refuses it."""
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "<":
            end = text.find(">", i)
            if end == -1:
                raise EntityError(
                    f"Can't parse entities: unclosed start tag at byte offset {_offset(text, i)}"
                )
            _tag(text, i, end, open_tags)
            i = end + 1
        elif char == "&":
            end = text.find(";", i, i + 12)
            if end != -1:
                decoded = html.unescape(text[i : end + 1])
                if decoded != text[i : end + 1]:
                    out.append(decoded)
                    i = end + 1
                    continue
            out.append(char)
            i += 1
        else:
            out.append(char)
            i += 1
    if open_tags:
        raise EntityError(
            "Can't parse entities: can't find end tag corresponding to start tag "
            f'"{open_tags[-1]}"'
        )
    return "".join(out)


def _tag(text: str, start: int, end: int, open_tags: list[str]) -> None:
    inside = text[start + 1 : end]
    closing = inside.startswith("/")
    body = inside[1:] if closing else inside
    name_end = 0
    while name_end < len(body) and body[name_end].lower() in _NAME_CHARS:
        name_end += 1
    name = body[:name_end].lower()
    if name not in _TAGS:
        shown = name or body[:20]
        kind = "end" if closing else "start"
        where = _offset(text, start)
        raise EntityError(
            f'Can\'t parse entities: unsupported {kind} tag "{shown}" at byte offset {where}'
        )
    if not closing:
        open_tags.append(name)
        return
    if not open_tags or open_tags[-1] != name:
        expected = open_tags[-1] if open_tags else None
        where = _offset(text, start)
        raise EntityError(
            f"Can't parse entities: unmatched end tag at byte offset {where}, expected "
            f'"</{expected}>", found "</{name}>"'
        )
    open_tags.pop()


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))
