"""Errors as problem details (RFC 9457): ``application/problem+json``, never a traceback.

Every error the app answers has the same body::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "...", "request_id": "5d1c..."}

`Problem` is the exception a handler raises for its own errors; FastAPI's validation
errors (422, with each error's location and message but never the value sent),
Starlette's 404 and 405, and every `HTTPException` are answered the same way. Anything
else is a 500 whose body says nothing of the cause (the log has it, with the request id).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from svckit.core.logging import current_request_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fastapi import FastAPI
    from starlette.requests import Request

__all__ = ["PROBLEM_JSON", "Problem", "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
#: The longest text of a validation error's message kept in a 422 body.
_MESSAGE_LIMIT = 200
#: How many validation errors a 422 lists.
_ERRORS_LIMIT = 20
_SERVER_ERROR = 500
_METHOD_NOT_ALLOWED = 405
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Problem(Exception):  # noqa: N818 - it is what RFC 9457 calls it
    """An error answered as problem details; raise it from a route or a dependency.

    Example:
        ```python
        raise Problem(409, "Email taken", detail="an account with this email exists")
        ```

    Attributes:
        status: The HTTP status.
        title: A short summary of the problem type (the status phrase by default).
        detail: What went wrong this time, for the client; never internal detail.
        type: A URI naming the problem type (``about:blank`` by default).
        headers: Response headers (``WWW-Authenticate``, ``Retry-After``...).
        extensions: More members of the body.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        *,
        detail: str | None = None,
        type: str = "about:blank",  # noqa: A002 - the RFC's member name
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        """Describe the problem; see the class attributes."""
        self.status = status
        self.title = title or _phrase(status)
        self.detail = detail
        self.type = type
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(f"{status} {self.title}")


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str = "about:blank",  # noqa: A002 - the RFC's member name
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A ``application/problem+json`` response, with the current request id in it."""
    body: dict[str, Any] = {"type": type, "title": title or _phrase(status), "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extensions)
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer `Problem`, `HTTPException` and validation errors as problem details."""
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]


async def _on_problem(_request: Request, exc: Problem) -> JSONResponse:
    return problem_response(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        type=exc.type,
        headers=exc.headers,
        **exc.extensions,
    )


async def _on_http_exception(request: Request, exc: HTTPException) -> JSONResponse:
    # A server error's detail may say what failed inside; a client error's is for the client.
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < _SERVER_ERROR else None
    if detail == _phrase(exc.status_code):
        detail = None
    headers = dict(exc.headers or {})
    if exc.status_code == _METHOD_NOT_ALLOWED:
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem_response(exc.status_code, detail=detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path.

    Starlette's 405 names the methods of the first route with the path only; a path
    served by two routes (``GET /users`` and ``POST /users`` in two routers) has both.
    """
    scope = request.scope
    allowed = []
    for method in _METHODS:
        # A clean scope: the matched request's own carries the routing's state.
        probe = {
            "type": "http",
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
            "method": method,
            "headers": scope.get("headers", []),
            "query_string": b"",
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            # The location and the message only: the value sent may be a password.
            "loc": [str(part) for part in error.get("loc", ())][:10],
            "msg": str(error.get("msg", ""))[:_MESSAGE_LIMIT],
            "type": str(error.get("type", ""))[:_MESSAGE_LIMIT],
        }
        for error in list(exc.errors())[:_ERRORS_LIMIT]
    ]
    return problem_response(422, detail="the request is not valid; see errors", errors=errors)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
