"""Users in the database, reads through the cache, events through the outbox.

Reads go through the typed cache (`Cache.get_or_set`); every change commits, then
deletes the cached entry. The cache's fence makes the delete win over a read that
loaded the old row concurrently: that read's value is not stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from examples.media_worker.messages import UserCreated, UserUpdated
from examples.users_api.models import User
from examples.users_api.schemas import Page, UserOut
from svckit import IntegrityError
from svckit.api import Problem

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from svckit.cache import Cache
    from svckit.db import Database
    from svckit.db.outbox import Outbox

__all__ = ["Users"]


def _out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


class Users:
    """The users table, with its cache and its events."""

    def __init__(self, db: Database, cache: Cache, outbox: Outbox, *, ttl: int) -> None:
        """Keep users in ``db``, reads in ``cache`` for ``ttl`` seconds."""
        self._db = db
        self._cache = cache
        self._outbox = outbox
        self._ttl = ttl

    async def read(self, user_id: int) -> UserOut | None:
        """The user, from the cache or the database."""
        return await self._cache.get_or_set(
            f"user:{user_id}", UserOut, lambda: self.load(user_id), ttl=self._ttl
        )

    async def load(self, user_id: int) -> UserOut | None:
        """The user, from the database (what a cached read saves)."""
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            return None if user is None else _out(user)

    async def by_email(self, session: AsyncSession, email: str) -> User | None:
        """The user with this email, in ``session``."""
        result = await session.execute(sa.select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def create(self, email: str, password_hash: str, name: str | None) -> UserOut:
        """Insert a user and write ``user.created`` to the outbox, in one transaction."""
        try:
            async with self._db.transaction() as session:
                user = User(email=email, password_hash=password_hash, name=name)
                session.add(user)
                await session.flush()
                await self._outbox.publish(
                    UserCreated(user_id=user.id, email=email, name=name),
                    session=session,
                    key=f"user:{user.id}",
                )
                out = _out(user)
        except IntegrityError:
            raise Problem(409, detail="an account with this email exists") from None
        return out

    async def update(self, user_id: int, **changes: Any) -> UserOut:
        """Change a user's fields and write ``user.updated``; then drop the cached read."""
        try:
            async with self._db.transaction() as session:
                user = await session.get(User, user_id)
                if user is None:
                    raise Problem(404, detail="no such user")
                changed = sorted(k for k, v in changes.items() if getattr(user, k) != v)
                for key in changed:
                    setattr(user, key, changes[key])
                if changed:
                    await session.flush()
                    public = tuple(k for k in changed if k != "password_hash")
                    await self._outbox.publish(
                        UserUpdated(user_id=user.id, email=user.email, changed=public),
                        session=session,
                        key=f"user:{user.id}",
                    )
                out = _out(user)
        except IntegrityError:
            raise Problem(409, detail="an account with this email exists") from None
        # After the commit: a read that loaded the old row meanwhile will not store it.
        await self._cache.delete(f"user:{user_id}")
        return out

    async def page(self, offset: int, limit: int) -> Page:
        """A page of users, by id."""
        async with self._db.transaction() as session:
            total = await session.scalar(sa.select(sa.func.count()).select_from(User))
            rows = await session.scalars(
                sa.select(User).order_by(User.id).offset(offset).limit(limit)
            )
            items = [_out(user) for user in rows]
        return Page(items=items, total=total or 0, offset=offset, limit=limit)
