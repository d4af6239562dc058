"""The users API with one more route, slow until a file appears, for `svckit run` tests."""

from __future__ import annotations

from examples.users_api.service import UsersApi
from examples.users_api.settings import UsersSettings  # noqa: TC001 - the annotation is read
from tests.api._slow_app import router as slow_router


class SlowUsers(UsersApi):
    settings: UsersSettings
    api_routers = (*UsersApi.api_routers, slow_router)
