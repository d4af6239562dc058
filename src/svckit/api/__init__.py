"""The API kind: `ApiService`, a FastAPI app on the chassis, served by uvicorn.

::

    from fastapi import APIRouter
    from svckit.api import ApiService, BusDep

    router = APIRouter()

    @router.post("/greetings", status_code=202)
    async def greet(name: str, bus: BusDep) -> dict[str, str]:
        await bus.publish(Greeted(name=name))
        return {"status": "queued"}

    class Greeter(ApiService):
        api_routers = [router]

Run it with ``svckit run app:Greeter``; test it with `svckit.testing.ApiHarness`. Every
request gets a request id (``X-Request-ID``), one access log line, a server span, and
errors as problem details (`Problem`). Needs the ``api`` extra:
``pip install "svckit[api]"``.
"""

from __future__ import annotations

from svckit.core._extras import require

require("fastapi", "api")
require("uvicorn", "api")

from svckit.api._deps import (  # noqa: E402 - after the check for the extra
    BusDep,
    CacheDep,
    ServiceDep,
    SessionDep,
    SettingsDep,
    StorageDep,
    service_of,
)
from svckit.api._identity import identify  # noqa: E402
from svckit.api._middleware import REQUEST_ID_HEADER  # noqa: E402
from svckit.api._problems import PROBLEM_JSON, Problem, problem_response  # noqa: E402
from svckit.api._settings import ApiSettings  # noqa: E402
from svckit.api.service import ApiService  # noqa: E402

__all__ = [
    "PROBLEM_JSON",
    "REQUEST_ID_HEADER",
    "ApiService",
    "ApiSettings",
    "BusDep",
    "CacheDep",
    "Problem",
    "ServiceDep",
    "SessionDep",
    "SettingsDep",
    "StorageDep",
    "identify",
    "problem_response",
    "service_of",
]
