"""Typed dependencies: the service's parts as ``Annotated`` aliases for route parameters.

::

    @router.get("/users/{user_id}")
    async def read(user_id: int, session: SessionDep, cache: CacheDep) -> UserOut: ...

Each reads the `ApiService` that built the app from ``request.app.state``.
`SessionDep` is a session in a transaction around the route: committed when the
route returns (before the response is sent, so a failed commit is a 500, not a lost
write), rolled back when it raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from svckit.cache import Cache
from svckit.core.errors import LifecycleError
from svckit.core.settings import ServiceSettings
from svckit.messaging import Bus
from svckit.storage import ContentStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession

    from svckit.api.service import ApiService

__all__ = [
    "BusDep",
    "CacheDep",
    "ServiceDep",
    "SessionDep",
    "SettingsDep",
    "StorageDep",
    "service_of",
]


def service_of(request: Request) -> ApiService:
    """The `ApiService` whose app answers ``request``."""
    service: ApiService | None = getattr(request.app.state, "svckit_service", None)
    if service is None:
        raise LifecycleError("this app was not built by an ApiService")
    return service


def _bus(request: Request) -> Bus:
    return service_of(request).bus


def _cache(request: Request) -> Cache:
    return service_of(request).cache


def _settings(request: Request) -> ServiceSettings:
    return service_of(request).settings


def _storage(request: Request) -> ContentStore:
    return service_of(request).storage


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    service = service_of(request)
    if "db" not in vars(service):
        raise LifecycleError(
            f"{type(service).__name__} has no database: set `uses_database = True` on it"
        )
    async with service.db.transaction() as session:
        yield session


#: The message bus.
BusDep = Annotated[Bus, Depends(_bus)]
#: The service's cache.
CacheDep = Annotated[Cache, Depends(_cache)]
#: The service's settings.
SettingsDep = Annotated[ServiceSettings, Depends(_settings)]
#: The content store.
StorageDep = Annotated[ContentStore, Depends(_storage)]
#: The service itself.
ServiceDep = Annotated["ApiService", Depends(service_of)]
if TYPE_CHECKING:
    #: A database session in a transaction around the route (needs ``uses_database``).
    SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
else:  # the db extra may be absent: the annotation is for the reader and the checker
    SessionDep = Annotated[Any, Depends(_session, scope="function")]
