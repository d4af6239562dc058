"""Registration, login, tokens, refresh rotation, logout and the login rate limit."""

from __future__ import annotations

import time
import uuid
import warnings
from typing import TYPE_CHECKING, Any

import jwt
import pytest
import sqlalchemy as sa

from examples.users_api.models import User
from examples.users_api.passwords import Passwords
from examples.users_api.settings import DEFAULT_SECRET
from tests.examples.users_api._support import PASSWORD, bearer, login, register

if TYPE_CHECKING:
    from examples.users_api.service import UsersApi
    from svckit.testing import ApiHarness


async def test_register_answers_the_account_without_its_hash(api: ApiHarness[UsersApi]) -> None:
    body = await register(api.client, "Ada@Example.com", name="Ada")
    assert body["email"] == "ada@example.com"
    assert body["name"] == "Ada"
    assert body["is_superuser"] is False
    assert "password" not in str(body)
    assert "hash" not in str(body)


async def test_a_second_account_with_one_email_is_a_409(api: ApiHarness[UsersApi]) -> None:
    await register(api.client, "ada@example.com")
    response = await api.client.post(
        "/users", json={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("Short-1!", "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password1234", "among the most common"),
    ],
)
async def test_a_weak_password_is_a_clear_422(
    api: ApiHarness[UsersApi], password: str, says: str
) -> None:
    response = await api.client.post(
        "/users", json={"email": "ada@example.com", "password": password}
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "password"]
    assert says in error["msg"]
    assert password not in response.text


def test_the_schema_states_the_password_policy() -> None:
    from examples.users_api.schemas import Registration  # noqa: PLC0415

    rule = Registration.model_json_schema()["properties"]["password"]
    assert rule["minLength"] == 12
    assert rule["maxLength"] == 128
    assert "password1234" in rule["not"]["enum"]


@pytest.mark.parametrize(
    "field", ["is_superuser", "is_active", "is_verified", "id", "created_at", "updated_at"]
)
async def test_registration_refuses_fields_a_user_may_not_set(
    api: ApiHarness[UsersApi], field: str
) -> None:
    response = await api.client.post(
        "/users", json={"email": "ada@example.com", "password": PASSWORD, field: True}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]


async def test_login_gives_tokens_with_every_required_claim(api: ApiHarness[UsersApi]) -> None:
    user = await register(api.client, "ada@example.com")
    tokens = await login(api.client, "ada@example.com")
    assert tokens["token_type"] == "bearer"  # noqa: S105 - the OAuth2 type
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert {"exp", "iat", "sub", "aud", "iss", "jti"} <= claims.keys()
    assert claims["sub"] == str(user["id"])
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "HS256"
    me = await api.client.get("/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == user["id"]


async def test_a_wrong_password_and_an_unknown_user_look_and_cost_the_same(
    api: ApiHarness[UsersApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(api.client, "ada@example.com")
    hasher = api.service.passwords._hash
    calls: list[str] = []
    real_verify, real_update = hasher.verify, hasher.verify_and_update

    def verify(password: str, stored: str) -> bool:
        calls.append("verify")
        return real_verify(password, stored)

    def verify_and_update(password: str, stored: str) -> tuple[bool, str | None]:
        calls.append("verify")
        return real_update(password, stored)

    monkeypatch.setattr(hasher, "verify", verify)
    monkeypatch.setattr(hasher, "verify_and_update", verify_and_update)
    wrong = await api.client.post(
        "/auth/token", data={"username": "ada@example.com", "password": "Wrong-Pass-123"}
    )
    unknown = await api.client.post(
        "/auth/token", data={"username": "nobody@example.com", "password": "Wrong-Pass-123"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"
    # One argon2 verification each: the unknown user's against the dummy hash.
    assert calls == ["verify", "verify"]


async def test_login_rehashes_a_password_when_the_parameters_change(
    api: ApiHarness[UsersApi],
) -> None:
    user = await register(api.client, "ada@example.com")
    api.service.passwords = Passwords(memory_cost=16, time_cost=1, parallelism=1)
    await login(api.client, "ada@example.com")
    async with api.service.db.transaction() as session:
        stored = await session.scalar(sa.select(User.password_hash).where(User.id == user["id"]))
    assert stored is not None
    assert "m=16,t=1,p=1" in stored
    await login(api.client, "ada@example.com")


def _token(api: ApiHarness[UsersApi], user_id: int, **changes: Any) -> str:
    settings = api.service.settings
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + 60,
        "aud": settings.token_audience,
        "iss": settings.token_issuer,
        "jti": uuid.uuid4().hex,
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")


def _none_token(user_id: int) -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    now = int(time.time())
    payload = jwt.utils.base64url_encode(
        f'{{"sub":"{user_id}","iat":{now},"exp":{now + 60},"aud":"users-api",'
        f'"iss":"users-api","jti":"x"}}'.encode()
    ).decode()
    return f"{header}.{payload}."


@pytest.mark.parametrize(
    "case",
    [
        "alg-none",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "wrong-signature",
        "hs512",
        "garbage",
        *(f"no-{claim}" for claim in ("exp", "iat", "sub", "aud", "iss", "jti")),
    ],
)
async def test_a_bad_access_token_is_a_401_with_a_challenge(
    api: ApiHarness[UsersApi], case: str
) -> None:
    user = await register(api.client, "ada@example.com")
    user_id = user["id"]
    secret = api.service.settings.secret_key.get_secret_value()
    if case == "alg-none":
        token = _none_token(user_id)
    elif case == "expired":
        token = _token(api, user_id, iat=int(time.time()) - 120, exp=int(time.time()) - 60)
    elif case == "wrong-audience":
        token = _token(api, user_id, aud="another-api")
    elif case == "wrong-issuer":
        token = _token(api, user_id, iss="someone-else")
    elif case == "wrong-signature":
        token = _token(api, user_id)[:-4] + "AAAA"
    elif case == "hs512":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            token = jwt.encode(
                jwt.decode(_token(api, user_id), options={"verify_signature": False}),
                secret,
                algorithm="HS512",
            )
    elif case == "garbage":
        token = "not.a.token"  # noqa: S105 - not a token
    else:
        token = _token(api, user_id, **{case.removeprefix("no-"): None})
    response = await api.client.get("/users/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["content-type"] == "application/problem+json"


async def test_no_token_is_a_401_with_the_bare_challenge(api: ApiHarness[UsersApi]) -> None:
    response = await api.client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_valid_hand_made_token_is_accepted(api: ApiHarness[UsersApi]) -> None:
    user = await register(api.client, "ada@example.com")
    response = await api.client.get("/users/me", headers=bearer(_token(api, user["id"])))
    assert response.status_code == 200


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(
    api: ApiHarness[UsersApi],
) -> None:
    await register(api.client, "ada@example.com")
    first = await login(api.client, "ada@example.com")
    other_login = await login(api.client, "ada@example.com")
    rotated = await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await api.client.get("/users/me", headers=bearer(second["access_token"]))).is_success

    reused = await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # The whole family is revoked: the token that replaced it, and its access token.
    again = await api.client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401
    me = await api.client.get("/users/me", headers=bearer(second["access_token"]))
    assert me.status_code == 401
    # Another login of the same user is another family, untouched.
    assert (
        await api.client.get("/users/me", headers=bearer(other_login["access_token"]))
    ).is_success


async def test_logout_revokes_the_access_and_the_refresh_token(api: ApiHarness[UsersApi]) -> None:
    await register(api.client, "ada@example.com")
    tokens = await login(api.client, "ada@example.com")
    headers = bearer(tokens["access_token"])
    assert (await api.client.post("/auth/logout", headers=headers)).status_code == 204
    assert (await api.client.get("/users/me", headers=headers)).status_code == 401
    refreshed = await api.client.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_login_is_limited_per_account(start_api: Any) -> None:
    api = await start_api(login_attempts_per_account=3)
    await register(api.client, "ada@example.com")
    for _ in range(3):
        wrong = await api.client.post(
            "/auth/token", data={"username": "ada@example.com", "password": "Wrong-Pass-123"}
        )
        assert wrong.status_code == 401
    limited = await api.client.post(
        "/auth/token", data={"username": "ADA@example.com", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= api.service.settings.login_window
    assert limited.headers["content-type"] == "application/problem+json"
    # Another account from the same address is not limited by this one's count.
    await register(api.client, "grace@example.com")
    await login(api.client, "grace@example.com")


async def test_login_is_limited_per_client_address(start_api: Any) -> None:
    api = await start_api(login_attempts_per_address=3)
    for n in range(3):
        response = await api.client.post(
            "/auth/token", data={"username": f"u{n}@example.com", "password": "Wrong-Pass-123"}
        )
        assert response.status_code == 401
    limited = await api.client.post(
        "/auth/token", data={"username": "new@example.com", "password": "Wrong-Pass-123"}
    )
    assert limited.status_code == 429
    assert "retry-after" in limited.headers


def test_production_refuses_the_default_secret_and_weak_argon2() -> None:
    from pydantic import SecretStr  # noqa: PLC0415

    from examples.users_api.settings import UsersSettings  # noqa: PLC0415
    from svckit import ConfigurationError  # noqa: PLC0415

    base: dict[str, Any] = {
        "environment": "production",
        "bus_url": SecretStr("amqp://u:p@rabbit/"),
        "cache_url": SecretStr("redis://redis:6379/0"),
        "storage_url": SecretStr("redis://redis:6379/1"),
        "database_url": SecretStr("postgresql+asyncpg://u:p@db/users"),
    }
    with pytest.raises(ConfigurationError, match="USERS_SECRET_KEY is still the default secret"):
        UsersSettings(_env_file=None, **base)
    strong = SecretStr("s" * 48)
    with pytest.raises(ConfigurationError, match="below OWASP"):
        UsersSettings(_env_file=None, secret_key=strong, argon2_memory_cost=1024, **base)
    settings = UsersSettings(_env_file=None, secret_key=strong, **base)
    assert settings.argon2_memory_cost >= 19 * 1024
    assert settings.argon2_time_cost >= 2
    assert DEFAULT_SECRET not in repr(settings)


@pytest.mark.redis
async def test_revocation_survives_a_restart_on_redis(start_api: Any) -> None:
    name = f"users-redis-{uuid.uuid4().hex[:8]}"
    settings = {"service_name": name, "cache_url": "redis://127.0.0.1:6379/0"}
    first = await start_api(**settings)
    try:
        await register(first.client, "ada@example.com")
        tokens = await login(first.client, "ada@example.com")
        headers = bearer(tokens["access_token"])
        assert (await first.client.post("/auth/logout", headers=headers)).status_code == 204
        await first.__aexit__(None, None, None)

        second = await start_api(**settings)
        assert (await second.client.get("/users/me", headers=headers)).status_code == 401
        refreshed = await second.client.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
        # A login of the restarted API works: only the revoked family is refused.
        fresh = await login(second.client, "ada@example.com")
        assert (
            await second.client.get("/users/me", headers=bearer(fresh["access_token"]))
        ).is_success
        await second.cache.clear()
    finally:
        if first.service.state.value == "running":
            await first.cache.clear()
