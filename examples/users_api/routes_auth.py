"""Registration and the OAuth2 password flow: log in, refresh, log out."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from examples.users_api.deps import App, Caller, unauthorized
from examples.users_api.schemas import Refresh, Registration, TokenPair, UserOut
from examples.users_api.tokens import ADMIN, InvalidTokenError

__all__ = ["router"]

router = APIRouter(tags=["auth"])

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "Not authenticated"}}


@router.post("/users", status_code=201, responses={409: {"description": "Email taken"}})
async def register(body: Registration, app: App) -> UserOut:
    """Open an account (the password policy is in the schema: 422 otherwise)."""
    password_hash = await app.passwords.hash(body.password)
    return await app.users.create(body.email, password_hash, body.name)


@router.post(
    "/auth/token",
    responses={**_UNAUTHORIZED, 429: {"description": "Too many attempts"}},
)
async def login(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], app: App
) -> TokenPair:
    """Exchange an email and a password for tokens (OAuth2 password flow)."""
    email = form.username.strip().lower()[:254]
    address = request.client.host if request.client else "unknown"
    await app.limiter.attempt(email, address)
    async with app.db.transaction() as session:
        user = await app.users.by_email(session, email)
        valid, new_hash = await app.passwords.verify(
            form.password[:256], user.password_hash if user is not None else None
        )
        if user is None or not valid or not user.is_active:
            raise unauthorized("the email or the password is wrong", error=None)
        if new_hash is not None:
            user.password_hash = new_hash  # the parameters changed: rehashed
        user_id, superuser = user.id, user.is_superuser
    scope = ADMIN if superuser else ""
    access, refresh = await app.tokens.issue(user_id, scope)
    return TokenPair(
        access_token=access, expires_in=app.tokens.access_ttl, refresh_token=refresh, scope=scope
    )


@router.post("/auth/refresh", responses=_UNAUTHORIZED)
async def refresh(body: Refresh, app: App) -> TokenPair:
    """Exchange a refresh token for new tokens; the old one is spent."""
    try:
        access, new, _user_id, scope = await app.tokens.rotate(body.refresh_token)
    except InvalidTokenError:
        raise unauthorized("the refresh token is not valid") from None
    return TokenPair(
        access_token=access, expires_in=app.tokens.access_ttl, refresh_token=new, scope=scope
    )


@router.post("/auth/logout", status_code=204, responses=_UNAUTHORIZED)
async def logout(claims: Caller, app: App) -> Response:
    """Revoke this login: its access token and every refresh token of it."""
    await app.tokens.revoke(claims)
    return Response(status_code=204)
