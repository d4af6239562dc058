"""Secrets are masked in text and in structured values before anything is logged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretBytes, SecretStr

from svckit.core._redact import MASK, is_secret_key, redact_event, redact_text, redact_value

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
