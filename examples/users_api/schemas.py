"""What the users API takes and answers; unknown fields are refused, never ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from examples.users_api.passwords import COMMON_PASSWORDS, MAX_LENGTH, MIN_LENGTH, check_policy

__all__ = [
    "AccountPatch",
    "MediaAccepted",
    "Page",
    "Refresh",
    "Registration",
    "Stats",
    "TokenPair",
    "UserOut",
    "UserPatch",
]

# A local part, then dot-separated DNS labels (a check of form, not of deliverability).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$"


def _lower(value: str) -> str:
    return value.lower()


def _utc(value: datetime) -> datetime:
    # SQLite gives back what it was given without its zone; every time stored is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=_EMAIL),
    AfterValidator(_lower),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Password = Annotated[
    str,
    Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        json_schema_extra={"not": {"enum": sorted(COMMON_PASSWORDS)}},
    ),
    AfterValidator(check_policy),
]


class _Input(BaseModel):
    # A field the model does not name (is_superuser, id...) is a 422, not ignored.
    model_config = ConfigDict(extra="forbid")


class Registration(_Input):
    """A new account."""

    email: Email
    password: Password
    name: Name | None = None


class UserPatch(_Input):
    """What a user may change of their own account."""

    email: Email | None = None
    name: Name | None = None
    password: Password | None = None


class AccountPatch(_Input):
    """What an admin may change of an account's state."""

    is_active: bool | None = None
    is_verified: bool | None = None
    is_superuser: bool | None = None


class UserOut(BaseModel):
    """An account, as the API shows it (never the password hash)."""

    id: int
    email: str
    name: str | None
    is_active: bool
    is_superuser: bool
    is_verified: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


class Page(BaseModel):
    """A page of users."""

    items: list[UserOut]
    total: int
    offset: int
    limit: int


class TokenPair(BaseModel):
    """What a login or a refresh answers (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    refresh_token: str
    scope: str


class Refresh(_Input):
    """A refresh token to exchange, or to revoke on logout."""

    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class MediaAccepted(BaseModel):
    """An upload taken: the worker processes it; poll ``status_url``."""

    media_id: str
    status_url: str


class Stats(BaseModel):
    """The media worker's counters: this hour's messages per topic, and the caller's."""

    this_hour: dict[str, int]
    mine: dict[str, int]
