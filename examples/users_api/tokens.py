"""Access tokens (JWT, HS256 only) and refresh tokens rotated with reuse detection.

An access token is a JWT with ``exp iat sub aud iss jti`` (all required on decode),
``scope`` and ``fam`` (its login's family). Decoding accepts HS256 only, so ``alg:
none`` and algorithm confusion fail like a bad signature.

A refresh token is opaque (random), kept in the cache by its SHA-256 with its user and
family. Each use rotates it: the token is marked used (set-if-absent, so two
concurrent uses cannot both win) and a new one of the same family is issued. A token
presented again after its use is a sign of theft: the whole family is revoked, its
refresh tokens and its access tokens alike (RFC 9700 §4.14). Logout revokes the family
too. Revocations are cache keys that live as long as what they revoke; on Redis they
survive restarts.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from pydantic import BaseModel

if TYPE_CHECKING:
    from examples.users_api.settings import UsersSettings
    from svckit.cache import Cache

__all__ = ["REQUIRED_CLAIMS", "Claims", "InvalidTokenError", "Tokens"]

REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss", "jti")
ADMIN = "admin"


class InvalidTokenError(Exception):
    """A token that is malformed, forged, expired, revoked or reused."""


@dataclass(frozen=True)
class Claims:
    """What a valid access token says."""

    user_id: int
    scopes: frozenset[str]
    jti: str
    family: str
    expires_at: int


class _Refresh(BaseModel):
    user_id: int
    family: str
    scope: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """Issues, rotates, checks and revokes tokens; state lives in ``cache``."""

    def __init__(self, settings: UsersSettings, cache: Cache) -> None:
        """Sign with ``settings.secret_key``; keep refresh tokens in ``cache``."""
        self._key = settings.secret_key.get_secret_value()
        self._issuer = settings.token_issuer
        self._audience = settings.token_audience
        self._access_ttl = settings.access_ttl
        self._refresh_ttl = settings.refresh_ttl
        self._cache = cache

    @property
    def access_ttl(self) -> int:
        """Seconds an access token lives."""
        return self._access_ttl

    async def issue(self, user_id: int, scope: str, family: str | None = None) -> tuple[str, str]:
        """A new access token and refresh token (a new family unless ``family``)."""
        family = family or uuid.uuid4().hex
        refresh = secrets.token_urlsafe(32)
        record = _Refresh(user_id=user_id, family=family, scope=scope)
        await self._cache.set(f"refresh:{_digest(refresh)}", record, ttl=self._refresh_ttl)
        return self._access(user_id, scope, family), refresh

    def _access(self, user_id: int, scope: str, family: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iat": now,
            "exp": now + self._access_ttl,
            "aud": self._audience,
            "iss": self._issuer,
            "jti": uuid.uuid4().hex,
            "scope": scope,
            "fam": family,
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    async def rotate(self, refresh: str) -> tuple[str, str, int, str]:
        """Exchange a refresh token: (access, refresh, user id, scope).

        Raises:
            InvalidTokenError: unknown, expired, revoked, or already used (the family
                is then revoked).
        """
        digest = _digest(refresh)
        record = await self._cache.get(f"refresh:{digest}", _Refresh)
        if record is None or await self._revoked_family(record.family):
            raise InvalidTokenError("unknown or revoked refresh token")
        if not await self._cache.add(f"used:{digest}", value=True, ttl=self._refresh_ttl):
            await self.revoke_family(record.family)
            raise InvalidTokenError("refresh token reused; its family is revoked")
        access, new = await self.issue(record.user_id, record.scope, record.family)
        return access, new, record.user_id, record.scope

    async def decode(self, token: str) -> Claims:
        """The claims of a valid, unrevoked access token.

        Raises:
            InvalidTokenError: anything else.
        """
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            user_id = int(claims["sub"])
            jti = str(claims["jti"])
            family = str(claims.get("fam", ""))
            scopes = frozenset(str(claims.get("scope", "")).split())
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidTokenError(type(exc).__name__) from exc
        if await self._cache.get(f"revoked:{jti}", bool) or await self._revoked_family(family):
            raise InvalidTokenError("revoked")
        return Claims(user_id, scopes, jti, family, int(claims["exp"]))

    async def revoke(self, claims: Claims) -> None:
        """Revoke an access token and its family (logout)."""
        left = max(claims.expires_at - int(time.time()), 1)
        await self._cache.set(f"revoked:{claims.jti}", value=True, ttl=left)
        await self.revoke_family(claims.family)

    async def revoke_family(self, family: str) -> None:
        """Revoke every refresh and access token of a login."""
        if family:
            await self._cache.set(f"family:{family}", value=True, ttl=self._refresh_ttl)

    async def _revoked_family(self, family: str) -> bool:
        return bool(family) and bool(await self._cache.get(f"family:{family}", bool))
