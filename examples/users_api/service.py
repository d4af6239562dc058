"""`UsersApi`: the users API's service, wiring its domain parts to the chassis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from examples.media_worker.storage import MediaStore
from examples.users_api.models import Base
from examples.users_api.passwords import Passwords
from examples.users_api.ratelimit import LoginLimiter
from examples.users_api.repository import Users
from examples.users_api.routes_auth import router as auth_router
from examples.users_api.routes_media import router as media_router
from examples.users_api.routes_users import router as users_router
from examples.users_api.settings import UsersSettings  # noqa: TC001 - the annotation is read
from examples.users_api.tokens import Tokens
from svckit.api import ApiService
from svckit.cache import Cache

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import APIRouter, FastAPI

    from svckit.db import Database
    from svckit.db.outbox import Outbox

__all__ = ["UsersApi"]

#: What a multipart body may add around the image itself.
MULTIPART_OVERHEAD = 64 * 1024


class UsersApi(ApiService):
    """Accounts, tokens and image uploads.

    Attributes:
        users: The users table, its cached reads and its events.
        passwords: argon2id hashing.
        tokens: Access and refresh tokens.
        limiter: The login rate limit.
        media: Media in the content store, where the media worker reads it.
        counters: The media worker's analytics counters.
    """

    settings: UsersSettings
    uses_database = True
    uses_outbox = True
    metadata = Base.metadata
    api_routers: ClassVar[Sequence[APIRouter]] = (auth_router, users_router)
    title = "Users API"

    db: Database
    outbox: Outbox

    def __init__(self, settings: UsersSettings | None = None, **parts: Any) -> None:
        """Create the service and its domain parts."""
        super().__init__(settings, **parts)
        s = self.settings
        self.passwords = Passwords(
            memory_cost=s.argon2_memory_cost,
            time_cost=s.argon2_time_cost,
            parallelism=s.argon2_parallelism,
        )
        self.users = Users(self.db, self.cache, self.outbox, ttl=s.user_cache_ttl)
        self.tokens = Tokens(s, self.cache)
        self.limiter = LoginLimiter(s, self.cache)
        self.media = MediaStore(self.storage, prefix=s.media_namespace)
        self.counters = Cache(self.cache.backend, namespace=s.analytics_namespace)

    def create_app(self) -> FastAPI:
        """The chassis's app, with the media routes under the upload size limit."""
        app = super().create_app()
        app.include_router(
            media_router, max_body_size=self.settings.upload_max_bytes + MULTIPART_OVERHEAD
        )
        return app
