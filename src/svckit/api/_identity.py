"""`identify`: say who made the request, for the access log line and every log line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["identify"]


def identify(request: Request, user_id: str | int) -> None:
    """Name the authenticated user of ``request``.

    The access log line of the request then has ``user_id``, and so has every line
    logged after this in the request's task. Call it from the dependency that
    authenticates.
    """
    request.state.user_id = user_id
    structlog.contextvars.bind_contextvars(user_id=user_id)
