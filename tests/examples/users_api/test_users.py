"""Reading and changing accounts: self, others, admin; the cache; the outbox's events."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from examples.media_worker.messages import UserCreated, UserUpdated
from tests.examples.users_api._support import (
    PASSWORD,
    bearer,
    eventually,
    login,
    make_admin,
    register,
)

if TYPE_CHECKING:
    from examples.users_api.schemas import UserOut
    from examples.users_api.service import UsersApi
    from svckit.testing import ApiHarness


async def _user(api: ApiHarness[UsersApi], email: str) -> tuple[dict[str, Any], dict[str, str]]:
    user = await register(api.client, email)
    tokens = await login(api.client, email)
    return user, bearer(tokens["access_token"])


async def test_me_reads_and_updates_the_callers_account(api: ApiHarness[UsersApi]) -> None:
    user, headers = await _user(api, "ada@example.com")
    assert (await api.client.get("/users/me", headers=headers)).json()["name"] is None
    patched = await api.client.patch("/users/me", headers=headers, json={"name": "Ada"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Ada"
    me = await api.client.get("/users/me", headers=headers)
    assert me.json()["name"] == "Ada"
    assert me.json()["id"] == user["id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("is_active", False),
        ("is_superuser", True),
        ("is_verified", True),
        ("id", 99),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("password_hash", "x"),
    ],
)
async def test_patch_me_refuses_fields_a_user_may_not_set(
    api: ApiHarness[UsersApi], field: str, value: object
) -> None:
    _, headers = await _user(api, "ada@example.com")
    response = await api.client.patch("/users/me", headers=headers, json={field: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]
    me = (await api.client.get("/users/me", headers=headers)).json()
    assert me["is_superuser"] is False
    assert me["is_active"] is True


async def test_a_new_password_meets_the_policy_and_works(api: ApiHarness[UsersApi]) -> None:
    _, headers = await _user(api, "ada@example.com")
    weak = await api.client.patch("/users/me", headers=headers, json={"password": "short"})
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.json()["errors"][0]["msg"]
    new = "Another-Horse-77?"
    assert (
        await api.client.patch("/users/me", headers=headers, json={"password": new})
    ).status_code == 200
    await login(api.client, "ada@example.com", new)
    old = await api.client.post(
        "/auth/token", data={"username": "ada@example.com", "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_a_user_reads_their_own_account_only(api: ApiHarness[UsersApi]) -> None:
    ada, ada_headers = await _user(api, "ada@example.com")
    grace, _ = await _user(api, "grace@example.com")
    assert (await api.client.get(f"/users/{ada['id']}", headers=ada_headers)).status_code == 200
    other = await api.client.get(f"/users/{grace['id']}", headers=ada_headers)
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert (await api.client.get(f"/users/{ada['id']}")).status_code == 401


async def test_an_admin_reads_lists_and_changes_accounts(api: ApiHarness[UsersApi]) -> None:
    admin = await make_admin(api, "root@example.com")
    users = [await register(api.client, f"u{n}@example.com") for n in range(3)]
    assert (await api.client.get(f"/users/{users[0]['id']}", headers=admin)).status_code == 200
    assert (await api.client.get("/users/999999", headers=admin)).status_code == 404
    page = (await api.client.get("/users?limit=2&offset=1", headers=admin)).json()
    assert page["total"] == 4
    assert page["limit"] == 2
    assert [u["email"] for u in page["items"]] == ["u0@example.com", "u1@example.com"]
    assert (await api.client.get("/users?limit=1000", headers=admin)).status_code == 422

    victim_tokens = await login(api.client, "u1@example.com")
    victim = bearer(victim_tokens["access_token"])
    assert (await api.client.get("/users/me", headers=victim)).status_code == 200
    changed = await api.client.patch(
        f"/users/{users[1]['id']}/account", headers=admin, json={"is_active": False}
    )
    assert changed.status_code == 200
    assert changed.json()["is_active"] is False
    # The cached read was dropped: the deactivated account is refused at once.
    assert (await api.client.get("/users/me", headers=victim)).status_code == 401
    refused = await api.client.post(
        "/auth/token", data={"username": "u1@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 401


async def test_listing_and_account_changes_need_the_admin_scope(
    api: ApiHarness[UsersApi],
) -> None:
    user, headers = await _user(api, "ada@example.com")
    assert (await api.client.get("/users", headers=headers)).status_code == 403
    response = await api.client.patch(
        f"/users/{user['id']}/account", headers=headers, json={"is_superuser": True}
    )
    assert response.status_code == 403
    assert (await api.client.get("/users")).status_code == 401


async def test_an_admin_patch_refuses_unknown_fields(api: ApiHarness[UsersApi]) -> None:
    admin = await make_admin(api, "root@example.com")
    user = await register(api.client, "ada@example.com")
    response = await api.client.patch(
        f"/users/{user['id']}/account", headers=admin, json={"email": "x@example.com"}
    )
    assert response.status_code == 422


async def test_reads_are_cached_and_an_update_drops_them(
    api: ApiHarness[UsersApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, headers = await _user(api, "ada@example.com")
    loads: list[int] = []
    real_load = api.service.users.load

    async def counting(user_id: int) -> UserOut | None:
        loads.append(user_id)
        return await real_load(user_id)

    monkeypatch.setattr(api.service.users, "load", counting)
    for _ in range(3):
        assert (await api.client.get("/users/me", headers=headers)).status_code == 200
    assert len(loads) <= 1
    await api.client.patch("/users/me", headers=headers, json={"name": "Ada"})
    assert (await api.client.get("/users/me", headers=headers)).json()["name"] == "Ada"
    assert await api.cache.get(f"user:{user['id']}", dict) is not None


async def test_a_read_racing_an_update_does_not_put_the_old_value_back(
    api: ApiHarness[UsersApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await register(api.client, "ada@example.com", name="Old")
    users = api.service.users
    await api.cache.delete(f"user:{user['id']}")
    loaded, release = asyncio.Event(), asyncio.Event()
    real_load = users.load

    async def slow_load(user_id: int) -> UserOut | None:
        value = await real_load(user_id)  # reads the old row
        loaded.set()
        await release.wait()
        return value

    monkeypatch.setattr(users, "load", slow_load)
    racing = asyncio.create_task(users.read(user["id"]))
    await loaded.wait()
    monkeypatch.setattr(users, "load", real_load)
    await users.update(user["id"], name="New")  # commits, then deletes the cached read
    release.set()
    old = await racing
    assert old is not None
    assert old.name == "Old"
    fresh = await users.read(user["id"])
    assert fresh is not None
    assert fresh.name == "New"


async def test_created_and_updated_events_go_through_the_outbox(
    api: ApiHarness[UsersApi],
) -> None:
    user, headers = await _user(api, "ada@example.com")
    await eventually(lambda: len(api.published(UserCreated)) == 1)
    [created] = api.published(UserCreated)
    assert created == UserCreated(user_id=user["id"], email="ada@example.com")
    await api.client.patch(
        "/users/me", headers=headers, json={"name": "Ada", "password": "Another-Horse-77?"}
    )
    await eventually(lambda: len(api.published(UserUpdated)) == 1)
    [updated] = api.published(UserUpdated)
    assert updated.changed == ("name",)
    assert "Another" not in str(api.messages[-1].body)


async def test_a_refused_registration_publishes_nothing(api: ApiHarness[UsersApi]) -> None:
    await register(api.client, "ada@example.com")
    await eventually(lambda: len(api.published(UserCreated)) == 1)
    duplicate = await api.client.post(
        "/users", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert duplicate.status_code == 409
    pending, _oldest = await api.service.outbox.backlog()
    assert pending == 0
    assert len(api.published(UserCreated)) == 1


async def test_a_405_names_every_method_of_the_path(api: ApiHarness[UsersApi]) -> None:
    # GET /users and POST /users live in two routers; Allow names both.
    response = await api.client.delete("/users")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_an_event_written_in_a_request_carries_its_request_id_and_trace(
    api: ApiHarness[UsersApi],
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await api.client.post(
        "/users",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"X-Request-ID": "signup-1", "traceparent": traceparent},
    )
    assert response.status_code == 201
    await eventually(lambda: len(api.published(UserCreated)) == 1)
    [out] = [m for m in api.messages if m.routing_key == "user.created"]
    assert out.headers["x-request-id"] == "signup-1"
    assert out.headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
