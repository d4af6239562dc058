"""schemathesis against the users API's own OpenAPI schema: no 5xx, responses as documented.

Every operation is called with an admin's token (an admin may call them all), with a few
generated examples each to keep the suite fast.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from examples.users_api.service import UsersApi
from examples.users_api.settings import UsersSettings
from tests.examples.users_api._support import FAST_ARGON2, PASSWORD

if TYPE_CHECKING:
    from collections.abc import Iterator

    from schemathesis import Case

# Built at import for schemathesis's parametrisation; nothing opens until the first call.
_FOLDER = Path(tempfile.mkdtemp(prefix="users-schema-"))
_OWN = f"memory://users-schema-{uuid.uuid4().hex}"
SERVICE = UsersApi(
    UsersSettings(
        _env_file=None,
        service_name="users-schema",
        environment="test",
        bus_url=_OWN,
        cache_url="memory://",
        storage_url=_OWN,
        database_url=f"sqlite+aiosqlite:///{_FOLDER / 'users.sqlite3'}",
        database_create_schema=True,
        login_attempts_per_account=1_000_000,
        login_attempts_per_address=1_000_000,
        **FAST_ARGON2,  # type: ignore[arg-type]
    )
)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The users API, for a lifespan that the module's fixture runs once.

    schemathesis runs an app's lifespan anew for each operation, and a service runs once:
    this answers its lifespan messages and hands everything else to the running service.
    """
    if scope["type"] != "lifespan":
        await SERVICE.app(scope, receive, send)
        return
    while True:
        message = await receive()
        await send({"type": f"{message['type']}.complete"})
        if message["type"] == "lifespan.shutdown":
            return


schema = schemathesis.openapi.from_dict(SERVICE.app.openapi())
schema.app = _app


@pytest.fixture(scope="module")
def users_service() -> Iterator[tuple[UsersApi, Path]]:
    # The service runs on schemathesis's event loop, where the requests run.
    portal = asgi._get_portal()
    lifespan = SERVICE.app.router.lifespan_context(SERVICE.app)
    portal.call(lifespan.__aenter__)
    try:
        yield SERVICE, _FOLDER / "users.sqlite3"
    finally:
        portal.call(lifespan.__aexit__, None, None, None)
        shutil.rmtree(_FOLDER, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_headers(users_service: tuple[UsersApi, Path]) -> dict[str, str]:
    _service, database = users_service
    with asgi.get_client(_app) as client:
        created = client.post("/users", json={"email": "root@example.com", "password": PASSWORD})
        assert created.status_code == 201, created.text
        with sqlite3.connect(database) as connection:
            connection.execute("UPDATE users SET is_superuser = 1")
        tokens = client.post(
            "/auth/token", data={"username": "root@example.com", "password": PASSWORD}
        )
        assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_schema_says(case: Case[Any], admin_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=admin_headers)
