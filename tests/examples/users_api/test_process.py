"""The users API as `svckit run` on PostgreSQL, RabbitMQ and Redis: SIGTERM mid-request."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from svckit.cache import Cache
from tests._postgres import create_pg_database, drop_pg_database, pg_url
from tests.api.test_run import serve_and_stop_during_a_slow_request
from tests.examples.users_api._support import FAST_ARGON2, PASSWORD

if TYPE_CHECKING:
    from pathlib import Path

    import httpx2

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.redis]


async def test_sigterm_during_a_request_on_the_real_backends(tmp_path: Path) -> None:
    database = await create_pg_database()
    name = f"users-proc-{uuid.uuid4().hex[:8]}"
    env = {
        "USERS_SERVICE_NAME": name,
        "USERS_DATABASE_URL": pg_url(database),
        "USERS_DATABASE_CREATE_SCHEMA": "true",
        "USERS_BUS_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "USERS_CACHE_URL": "redis://127.0.0.1:6379/0",
        "USERS_STORAGE_URL": "redis://127.0.0.1:6379/0",
        **{f"USERS_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()},
    }

    async def use_it(client: httpx2.AsyncClient) -> None:
        email = f"{name}@example.com"
        created = await client.post("/users", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        tokens = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
        assert tokens.status_code == 200
        me = await client.get(
            "/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
        assert me.json()["email"] == email

    try:
        logs = await serve_and_stop_during_a_slow_request(
            env,
            tmp_path,
            target="tests.examples.users_api._slow_users:SlowUsers",
            prefix="USERS",
            while_running=use_it,
        )
        started = next(e for e in logs if e.get("event") == "service started")
        assert started["resources"] == 5
    finally:
        await drop_pg_database(database)
        cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace=name)
        async with cache:
            await cache.clear()
