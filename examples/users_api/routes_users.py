"""Reading and changing accounts: one's own, and others' with the admin scope."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from examples.users_api.deps import Admin, App, Caller, CurrentUser
from examples.users_api.schemas import AccountPatch, Page, UserOut, UserPatch
from examples.users_api.tokens import ADMIN
from svckit.api import Problem

__all__ = ["router"]

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses={401: {"description": "Not authenticated"}},
)
_FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"description": "Not allowed"}}
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "No such user"}}


@router.get("/me")
async def read_me(user: CurrentUser) -> UserOut:
    """The caller's account."""
    return user


@router.patch("/me", responses={409: {"description": "Email taken"}})
async def update_me(body: UserPatch, user: CurrentUser, app: App) -> UserOut:
    """Change the caller's email, name or password."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("email") is None:
        changes.pop("email", None)
    password = changes.pop("password", None)
    if password is not None:
        changes["password_hash"] = await app.passwords.hash(password)
    return await app.users.update(user.id, **changes)


@router.get("", responses=_FORBIDDEN)
async def list_users(
    _admin: Admin,
    app: App,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page:
    """Every account, a page at a time (admin scope)."""
    return await app.users.page(offset, limit)


@router.get("/{user_id}", responses={**_FORBIDDEN, **_MISSING})
async def read_user(
    user_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    user: CurrentUser,
    claims: Caller,
    app: App,
) -> UserOut:
    """An account: the caller's own, or any with the admin scope."""
    admin = ADMIN in claims.scopes and user.is_superuser
    if user_id != user.id and not admin:
        raise Problem(403, detail="you may read your own account only")
    found = await app.users.read(user_id)
    if found is None:
        raise Problem(404, detail="no such user")
    return found


@router.patch("/{user_id}/account", responses={**_FORBIDDEN, **_MISSING})
async def change_account(
    user_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: AccountPatch,
    _admin: Admin,
    app: App,
) -> UserOut:
    """Activate, deactivate, verify or promote an account (admin scope)."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return await app.users.update(user_id, **changes)
