"""The app's OpenAPI schema says what it answers: every error as ``application/problem+json``.

FastAPI documents its 422 as ``application/json`` with its own validation-error model;
an `ApiService` answers every error as problem details instead, so the schema is
rewritten to match: each documented 4xx/5xx response gets the `Problem` schema under
``application/problem+json``, FastAPI's validation-error schemas are dropped, the
``Retry-After`` and ``WWW-Authenticate`` headers are declared where they are sent, and
an operation with a body documents the 400 (unparsable) and 413 (too large) it may get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi

from svckit.api._problems import PROBLEM_JSON

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["PROBLEM_SCHEMA", "problem_openapi"]

_VALIDATION = ("HTTPValidationError", "ValidationError")

#: The JSON schema of a problem body (RFC 9457, with svckit's extensions).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
_HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    "429": {"Retry-After": {"schema": {"type": "string"}}},
}


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI schema, built once, with errors documented as problems."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                # Answered before any validation: a body that cannot be parsed, or is too big.
                responses.setdefault("400", {"description": "The body cannot be read"})
                responses.setdefault("413", {"description": "The body is too large"})
            for status, response in responses.items():
                if status[:1] in "45":
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
                    if status in _HEADERS:
                        response.setdefault("headers", {}).update(_HEADERS[status])
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _VALIDATION:
        components.pop(name, None)
    components["Problem"] = PROBLEM_SCHEMA
    app.openapi_schema = schema
    return schema
