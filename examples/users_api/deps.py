"""The users API's dependencies: the service, the caller's claims, the current user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from examples.users_api.schemas import UserOut
from examples.users_api.tokens import ADMIN, Claims, InvalidTokenError
from svckit.api import Problem, identify, service_of

if TYPE_CHECKING:
    from examples.users_api.service import UsersApi

__all__ = ["Admin", "App", "Caller", "CurrentUser", "unauthorized"]

_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def unauthorized(detail: str, *, error: str | None = "invalid_token") -> Problem:
    """A 401 problem with the ``WWW-Authenticate`` challenge of RFC 6750."""
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return Problem(401, detail=detail, headers={"WWW-Authenticate": challenge})


def _app(request: Request) -> UsersApi:
    return cast("UsersApi", service_of(request))


if TYPE_CHECKING:
    App = Annotated[UsersApi, Depends(_app)]
else:  # the service module imports this one
    App = Annotated[Any, Depends(_app)]


async def _claims(
    request: Request, app: App, token: Annotated[str | None, Depends(_bearer)]
) -> Claims:
    if token is None:
        raise unauthorized("a bearer token is required", error=None)
    try:
        claims = await app.tokens.decode(token)
    except InvalidTokenError:
        raise unauthorized("the token is not valid") from None
    identify(request, claims.user_id)
    return claims


Caller = Annotated[Claims, Depends(_claims)]


async def _current_user(app: App, claims: Caller) -> UserOut:
    user = await app.users.read(claims.user_id)
    if user is None or not user.is_active:
        raise unauthorized("the account is not active")
    return user


CurrentUser = Annotated[UserOut, Depends(_current_user)]


async def _admin(user: CurrentUser, claims: Caller) -> UserOut:
    if ADMIN not in claims.scopes or not user.is_superuser:
        raise Problem(403, detail="this needs the admin scope")
    return user


Admin = Annotated[UserOut, Depends(_admin)]
