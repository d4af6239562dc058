"""Secrets are masked in text and in structured values before anything is logged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretBytes, SecretStr

from svckit.core._redact import (
    FIELD_LIMIT,
    MASK,
    TRACEBACK_LIMIT,
    bound_text,
    is_secret_key,
    redact_event,
    redact_text,
    redact_value,
)

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_"  # noqa: S105 - a made-up token

# Characters a password may hold inside a URL without percent-encoding, ``@`` and ``:``
# included; ``/``, ``?`` and ``#`` end the authority and must be encoded (RFC 3986).
URL_PASSWORD_CHARS = st.characters(
    codec="ascii",
    categories=["L", "N"],
    include_characters="-._~!$&'()*+,;=%:@",
)
TOKEN_CHARS = st.characters(codec="ascii", categories=["L", "N"], include_characters="-_")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amqp://guest:hunter2@rabbit:5672/vhost", "amqp://guest:***@rabbit:5672/vhost"),
        ("redis://:p@ss:w0rd@localhost:6379/0", "redis://:***@localhost:6379/0"),
        (
            "postgresql+asyncpg://app:pa55@db/app?sslmode=require",
            "postgresql+asyncpg://app:***@db/app?sslmode=require",
        ),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic ***"),
        (
            "{'Authorization': 'Basic dXNl cjpw', 'Accept': 'text/html'}",
            "{'Authorization': 'Basic ***', 'Accept': 'text/html'}",
        ),
        ('{"authorization": "raw-credential"}', '{"authorization": "***"}'),
        ("Proxy-Authorization: Basic abc", "Proxy-Authorization: Basic ***"),
        ("retrying with bearer eyJhbGciOi.eyJzdWIi.sig", "retrying with bearer ***"),
        (
            f"GET https://api.telegram.org/bot{BOT_TOKEN}/getMe",
            "GET https://api.telegram.org/bot123456789:***/getMe",
        ),
        (
            f"https://api.telegram.org/file/bot{BOT_TOKEN}/photos/1.jpg",
            "https://api.telegram.org/file/bot123456789:***/photos/1.jpg",
        ),
        (f"token {BOT_TOKEN} rejected", "token 123456789:*** rejected"),
        ("login failed password=hunter2 user=bob", "login failed password=*** user=bob"),
        ("GET /items?api_key=abc123&page=2", "GET /items?api_key=***&page=2"),
        ("{'password': 'two words', 'user': 'bob'}", "{'password': '***', 'user': 'bob'}"),
        ('{"client_secret": "s3cr3t"}', '{"client_secret": "***"}'),
    ],
)
def test_secrets_in_text_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "user 42 created",
        "amqp://guest@rabbit:5672/",
        "https://example.com/a:b@c",
        "basic setup done; author=alice; 3 tokens left",
        "12:30 meeting",
        "",
    ],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_masking_twice_changes_nothing_more() -> None:
    once = redact_text(f"Authorization: Bearer x password=y amqp://u:p@h/bot{BOT_TOKEN}/")
    assert redact_text(once) == once


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "db_password",
        "passwd",
        "client_secret",
        "access_token",
        "api_key",
        "X-Api-Key",
        "apikey",
        "Authorization",
        "Cookie",
        "set-cookie",
        "jwt",
        "credentials",
        "private_key",
    ],
)
def test_secret_looking_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["user", "message_id", "trace_id", "author", "event", "level"])
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_nested_values_are_masked_by_key_and_by_content() -> None:
    value = {
        "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
        "items": [{"api_key": "k1"}, "amqp://u:pw@host/", 3],
        "pair": ("token=abc", None),
        "Password": {"even": "a dict"},
    }
    assert redact_value(value) == {
        "headers": {"Authorization": MASK, "Accept": "application/json"},
        "items": [{"api_key": MASK}, "amqp://u:***@host/", 3],
        "pair": ["token=***", None],
        "Password": MASK,
    }


def test_pydantic_secrets_become_the_mask() -> None:
    assert redact_value(SecretStr("amqp://u:pw@h/")) == MASK
    assert redact_value(SecretBytes(b"raw")) == MASK
    assert redact_value([SecretStr("x")]) == [MASK]


def test_other_objects_are_shown_by_their_redacted_repr() -> None:
    error = ConnectionError("cannot reach amqp://app:pw-123@rabbit/")
    assert redact_value(error) == "ConnectionError('cannot reach amqp://app:***@rabbit/')"
    assert redact_value(b"password=abc") == "password=***"


def test_numbers_and_booleans_pass_through_untouched() -> None:
    assert redact_value(5) == 5
    assert redact_value(2.5) == 2.5
    assert redact_value(True) is True
    assert redact_value(None) is None


def test_the_processor_masks_top_level_keys_and_values() -> None:
    event = {"event": "connect to amqp://u:pw@h/", "token": 123, "password": None, "n": 1}
    assert redact_event(None, "info", event) == {
        "event": "connect to amqp://u:***@h/",
        "token": MASK,
        "password": MASK,
        "n": 1,
    }


@given(
    scheme=st.sampled_from(["amqp", "amqps", "redis", "postgresql+asyncpg", "https"]),
    user=st.text(TOKEN_CHARS, max_size=10),
    password=st.text(URL_PASSWORD_CHARS, min_size=1, max_size=40),
)
def test_a_url_password_never_survives(scheme: str, user: str, password: str) -> None:
    secret = f"Zq{password}"
    url = f"{scheme}://{user}:{secret}@broker.internal:5672/vhost"
    masked = redact_text(f"connecting to {url} now")
    assert secret not in masked
    assert masked == f"connecting to {scheme}://{user}:***@broker.internal:5672/vhost now"


@given(bot_id=st.integers(min_value=1, max_value=10**10), secret=st.text(TOKEN_CHARS, min_size=30))
def test_a_bot_token_never_survives(bot_id: int, secret: str) -> None:
    token = f"{bot_id}:{secret}"
    masked = redact_text(f"POST https://api.telegram.org/bot{token}/sendMessage failed")
    assert secret not in masked
    assert f"/bot{bot_id}:***/sendMessage" in masked


@given(credential=st.text(TOKEN_CHARS, min_size=1).map(lambda s: f"Zq{s}"))
def test_a_bearer_credential_never_survives(credential: str) -> None:
    assert credential not in redact_text(f"headers: Authorization: Bearer {credential}")
    assert credential not in redact_text(f"{{'authorization': 'Bearer {credential}'}}")


# ---------------------------------------------------------------- header names in text

PLANTED = "Zq-planted-8c1f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"x-api-key={PLANTED} next", "x-api-key=*** next"),
        (
            f"{{'x-api-key': '{PLANTED}', 'accept': 'json'}}",
            "{'x-api-key': '***', 'accept': 'json'}",
        ),
        (f"X-Auth-Token: {PLANTED}", "X-Auth-Token: ***"),
        (
            f"[('x-api-key', '{PLANTED}'), ('accept', 'json')]",
            "[('x-api-key', '***'), ('accept', 'json')]",
        ),
        (
            f"headers error: x-api-key error: Unknown type: <class 'X'> ({PLANTED})\nnext line",
            "headers error: x-api-key error: ***\nnext line",
        ),
        (f"password='{PLANTED} and more", "password='***"),
        (f"[('X-Api-Key', b'{PLANTED}')]", "[('X-Api-Key', b'***')]"),
        (f"{{b'x-api-key': b'{PLANTED}'}}", "{b'x-api-key': b'***'}"),
    ],
)
def test_values_of_secret_header_names_are_masked_in_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected


def test_a_pair_of_ordinary_words_is_left_alone() -> None:
    text = "fields ['password', 'user'] and (token, 3)"
    assert redact_text(text) == text


def test_an_encoder_error_about_a_secret_header_does_not_quote_its_value() -> None:
    pamqp_encode = pytest.importorskip("pamqp.encode")

    class Odd:
        def __repr__(self) -> str:
            return f"Odd({PLANTED})"

    with pytest.raises(TypeError) as caught:
        pamqp_encode.field_table({"x-api-key": Odd()})
    assert PLANTED in str(caught.value)  # what pamqp says, before redaction
    assert PLANTED not in redact_text(str(caught.value))
    assert PLANTED not in redact_value(caught.value)


# ---------------------------------------------------------------- hostile sizes

MEGABYTE = 1_000_000


@pytest.mark.parametrize(
    "text",
    [
        "password" * (MEGABYTE // 8) + ":",
        "a" * MEGABYTE + " key=",
        "x=" * (MEGABYTE // 2) + "token",
        "a" * MEGABYTE + "://",
        "://" * (MEGABYTE // 3),
        "1" * MEGABYTE + ":",
        "key-" * (MEGABYTE // 4) + "=",
        "authorization" + " " * MEGABYTE,
        "bearer" + " " * MEGABYTE + "'",
        "a://" + ":" * MEGABYTE,
        "token" + " " * MEGABYTE + ":",
        "(" + "'token'" * (MEGABYTE // 7) + ",",
    ],
    ids=lambda text: f"{text[:10]!r}...",
)
def test_a_megabyte_of_hostile_text_without_secrets_comes_back_unchanged(text: str) -> None:
    # Each of these took minutes or more before redaction was made linear.
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("filler", "secret", "masked"),
    [
        ("x=" * (MEGABYTE // 2), f" password={PLANTED}", " password=***"),
        ("password" * (MEGABYTE // 8), f" api_key: '{PLANTED}'", " api_key: '***'"),
        ("://" * (MEGABYTE // 3), f" amqp://u:{PLANTED}@h/", " amqp://u:***@h/"),
        ("1" * MEGABYTE + ":", f" bot123:{PLANTED * 3}", " bot123:***"),
        ("a" * MEGABYTE, f" Authorization: Bearer {PLANTED}", " Authorization: Bearer ***"),
    ],
)
def test_a_secret_after_a_megabyte_of_hostile_text_is_masked(
    filler: str, secret: str, masked: str
) -> None:
    assert redact_text(filler + secret) == filler + masked


def test_a_megabyte_of_secrets_is_masked_every_one() -> None:
    text = f"password={PLANTED} " * (MEGABYTE // 25)
    assert redact_text(text) == "password=*** " * (MEGABYTE // 25)


# ---------------------------------------------------------------- bounds


def test_bound_text_cuts_and_says_how_much() -> None:
    assert bound_text("abc", 3) == "abc"
    assert bound_text("a" * 10, 4) == "aaaa…[+6 chars]"


def test_long_text_is_cut_at_a_space_and_marked() -> None:
    text = "word " * 2000
    result = redact_text(text, limit=FIELD_LIMIT)
    shown, marker = result.split("…")
    assert len(shown) <= FIELD_LIMIT
    assert shown.endswith("word")
    assert marker == f"[+{len(text) - len(shown)} chars]"


def test_a_secret_straddling_the_cut_is_masked_whole() -> None:
    # One long word: the cut falls inside the URL's password.
    url = f"amqp://u:{PLANTED}@rabbit/"
    text = "y" * (FIELD_LIMIT - 12) + url + "z" * 10_000
    result = redact_text(text, limit=FIELD_LIMIT)
    assert len(result.split("…")[0]) == FIELD_LIMIT
    assert PLANTED[:3] not in result
    # A quoted secret cut before its closing quote.
    text = "x " * (FIELD_LIMIT // 2 - 10) + f"password='{PLANTED} {PLANTED} {PLANTED}'"
    assert PLANTED[:3] not in redact_text(text, limit=FIELD_LIMIT)


def test_values_are_bounded_at_every_level() -> None:
    long = "r" * 60_000
    value = {"request_id": long, "nested": [long], long: 1}
    result = redact_value(value)
    assert result["request_id"] == bound_text(long, FIELD_LIMIT)
    assert result["nested"] == [bound_text(long, FIELD_LIMIT)]
    assert max(len(str(key)) for key in result) < 300


def test_containers_keep_their_first_items_and_say_how_many_more() -> None:
    assert redact_value(list(range(1000)))[-1] == "…[+900 items]"
    assert len(redact_value(list(range(1000)))) == 101
    assert redact_value({i: i for i in range(150)})["…"] == "[+50 items]"


def test_deep_nesting_is_cut_not_a_recursion_error() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    result = redact_value(deep)
    for _ in range(8):
        result = result[0]
    assert result == "…[nested too deep]"


def test_a_megabyte_key_is_checked_without_being_remembered() -> None:
    assert is_secret_key("a" * MEGABYTE + "password")
    assert not is_secret_key("a" * MEGABYTE)


def test_the_processor_bounds_values_and_gives_tracebacks_more_room() -> None:
    long = "r" * 60_000
    event = {"event": "x", "request_id": long, "exception": long, "timestamp": "t"}
    result = redact_event(None, "info", event)
    assert result["request_id"] == bound_text(long, FIELD_LIMIT)
    assert result["exception"] == f"[+{60_000 - TRACEBACK_LIMIT} chars]…" + "r" * TRACEBACK_LIMIT


def test_the_end_of_a_long_traceback_is_kept() -> None:
    text = "Traceback (most recent call last):\n" + "  File x, line 1\n" * 5000 + "ValueError: boom"
    result = redact_text(text, 1000, tail=True)
    assert result.endswith("  File x, line 1\nValueError: boom")
    assert result.startswith("[+")
    assert len(result) < 1020


SECRET_NAMES = st.sampled_from(
    ["password", "db_password", "x-api-key", "X-Auth-Token", "session_id", "client_secret"]
)
FORMS = st.sampled_from(
    [
        "{k}={v}",
        "{k}: {v}",
        "{k} = {v}",
        "'{k}': '{v}'",
        '"{k}": "{v}"',
        "('{k}', '{v}')",
        "{k} error: Unknown type: <class 'X'> ({v})",
    ]
)
AROUND = st.text(st.characters(codec="ascii", categories=["L", "N", "Zs", "P"]), max_size=30)


@given(
    name=SECRET_NAMES,
    form=FORMS,
    secret=st.text(TOKEN_CHARS, min_size=1, max_size=30).map(lambda s: f"Zq{s}"),
    before=AROUND,
    after=AROUND,
)
def test_a_value_under_a_secret_name_never_survives(
    name: str, form: str, secret: str, before: str, after: str
) -> None:
    text = f"{before} {form.format(k=name, v=secret)} {after}"
    masked = redact_text(text)
    assert secret not in masked
    assert redact_text(masked) == masked


@pytest.mark.parametrize("length", [10, 127, 128, 129, 2000])
def test_text_redacted_again_is_masked_again(length: int) -> None:
    text = "password=hunter2 " + "x" * length
    for _ in range(3):
        assert redact_text(text).startswith("password=*** ")
        event = redact_event(None, "info", {"event": text, "detail": text})
        assert event["event"].startswith("password=*** ")
        assert event["detail"].startswith("password=*** ")
