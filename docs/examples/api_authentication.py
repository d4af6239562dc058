"""The users API's authentication, step by step: register, log in, refresh, log out.

Run it as is (``python docs/examples/api_authentication.py``); the API runs in-process on
the embedded backends, with SQLite in a temporary folder.
"""

from __future__ import annotations

import asyncio
import sys
from http import HTTPStatus
from pathlib import Path

from svckit.testing import ApiHarness

# The users API is an example in svckit's repository, next to the docs.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.users_api.service import UsersApi

PASSWORD = "Correct-Horse-42!"  # noqa: S105 - the example's


async def main() -> None:
    """Walk through the token flow."""
    # Cheap hashing for a demonstration only: production refuses it.
    async with ApiHarness(UsersApi, argon2_memory_cost=8, argon2_time_cost=1) as api:
        client = api.client
        # --8<-- [start:flow]
        await client.post("/users", json={"email": "ada@example.com", "password": PASSWORD})
        login = await client.post(
            "/auth/token", data={"username": "ada@example.com", "password": PASSWORD}
        )
        tokens = login.json()  # access_token, refresh_token, expires_in, token_type
        me = await client.get(
            "/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )

        # Each refresh spends the refresh token and gives a new pair.
        rotated = await client.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        # Spending it again is a sign of theft: the whole login is revoked.
        reused = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        after = await client.get(
            "/users/me", headers={"Authorization": f"Bearer {rotated.json()['access_token']}"}
        )
        # --8<-- [end:flow]
    print(login.status_code, sorted(tokens))
    print(me.status_code, me.json()["email"])
    print(rotated.status_code, reused.status_code, reused.headers["www-authenticate"])
    print(after.status_code, after.json()["detail"])
    assert me.status_code == HTTPStatus.OK
    assert rotated.status_code == HTTPStatus.OK
    assert reused.status_code == HTTPStatus.UNAUTHORIZED
    assert after.status_code == HTTPStatus.UNAUTHORIZED


if __name__ == "__main__":
    asyncio.run(main())
