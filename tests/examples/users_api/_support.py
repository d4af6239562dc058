"""Helpers of the users API's tests: settings, databases, accounts and tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from examples.users_api.service import UsersApi
from svckit.testing import ApiHarness

if TYPE_CHECKING:
    import httpx2

PASSWORD = "Correct-Horse-42!"  # noqa: S105 - a test account's
#: Far below OWASP's, so that tests do not spend their time hashing (never in production).
FAST_ARGON2 = {"argon2_memory_cost": 8, "argon2_time_cost": 1, "argon2_parallelism": 1}

StartApi: TypeAlias = Callable[..., Awaitable[ApiHarness[UsersApi]]]


def overrides(**values: Any) -> dict[str, Any]:
    """The settings every test's API runs with, plus ``values``."""
    return {**FAST_ARGON2, "service_name": f"users-{uuid.uuid4().hex[:8]}", **values}


async def register(
    client: httpx2.AsyncClient, email: str, password: str = PASSWORD, **fields: Any
) -> dict[str, Any]:
    """Open an account; its JSON."""
    response = await client.post("/users", json={"email": email, "password": password, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx2.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in; the token pair."""
    response = await client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_admin(api: ApiHarness[UsersApi], email: str) -> dict[str, str]:
    """Register ``email`` as a superuser (straight in the table) and log in: its headers."""
    user = await register(api.client, email)
    await api.service.users.update(user["id"], is_superuser=True)
    tokens = await login(api.client, email)
    return bearer(tokens["access_token"])


async def eventually(check: Callable[[], bool | Awaitable[bool]], *, timeout: float = 10) -> None:
    """Wait until ``check`` holds; TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)
