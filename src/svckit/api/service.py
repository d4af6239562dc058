"""`ApiService`: a FastAPI app whose lifespan is the service lifecycle."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import JSONResponse

from svckit.api._middleware import REQUEST_ID_HEADER, RequestMiddleware
from svckit.api._openapi import problem_openapi
from svckit.api._problems import install_problem_handlers
from svckit.api._server import HttpServer
from svckit.api._settings import ApiSettings
from svckit.chassis import ChassisService
from svckit.core.errors import LifecycleError
from svckit.core.service import ServiceState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from svckit.core.work import Intake

__all__ = ["ApiService"]

#: Whether this FastAPI traces requests by itself (``FastAPI(telemetry=...)``).
_FASTAPI_OPTIONS = inspect.signature(FastAPI.__init__).parameters
_NATIVE_TELEMETRY = "telemetry" in _FASTAPI_OPTIONS


class _App(FastAPI):
    """FastAPI, with svckit's request middleware outside all the others but one.

    There it sees what Starlette's own layers answer (a 413 from the body limit) and
    turns it into a problem, and its request id and log context cover every line the
    others log.
    """

    svckit_request_options: dict[str, Any]

    def build_middleware_stack(self) -> Any:
        """Starlette's stack, with `RequestMiddleware` just inside its server-error layer.

        The outermost layer stays Starlette's ``ServerErrorMiddleware``, as OpenTelemetry's
        FastAPI instrumentation expects when it wraps the stack; the request middleware
        answers every exception itself, so that layer never has one to answer.
        """
        stack = super().build_middleware_stack()
        if isinstance(stack, ServerErrorMiddleware):
            stack.app = RequestMiddleware(stack.app, **self.svckit_request_options)
            return stack
        return RequestMiddleware(stack, **self.svckit_request_options)


class ApiService(ChassisService):
    """An HTTP API on the chassis: FastAPI routes, plus consumers if it has any.

    Declare routes in `fastapi.APIRouter` objects listed in ``api_routers`` (consumers
    still go in ``routers`` or on methods); take the service's parts in routes with the
    dependencies of `svckit.api` (`BusDep`, `SessionDep`...). ``svckit run module:Class``
    serves it with uvicorn on ``http_host:http_port``, ``/livez`` and ``/readyz``
    included; `svckit.testing.ApiHarness` runs it in the test's loop.

    Example:
        ```python
        router = APIRouter()

        @router.get("/hello")
        async def hello(settings: SettingsDep) -> dict[str, str]:
            return {"hello": settings.service_name}

        class Greeter(ApiService):
            api_routers = [router]
        ```

    Attributes:
        api_routers: The routers whose routes the app serves, included in order.
        title: The OpenAPI title (the class name by default).
        version: The OpenAPI version of the API.
        app: The FastAPI app, for what FastAPI itself offers (middleware, mounts,
            exception handlers); its lifespan runs the service.
    """

    settings: ApiSettings
    api_routers: ClassVar[Sequence[APIRouter]] = ()
    title: ClassVar[str | None] = None
    version: ClassVar[str] = "0.1.0"

    def __init__(self, settings: ApiSettings | None = None, **parts: Any) -> None:
        """Create the service and its app; see `ChassisService` for ``parts``."""
        super().__init__(settings, **parts)
        self._in_lifespan = False
        self.app = self.create_app()
        self.http = HttpServer(
            self.app,
            host=self.settings.http_host,
            port=self.settings.http_port,
            shutdown_timeout=self.settings.shutdown_timeout,
        )

    def create_app(self) -> FastAPI:
        """Build the app: problem handlers, health routes, ``api_routers``, middleware.

        Override to change how the app is made; call ``super().create_app()`` first.
        """
        settings = self.settings
        options: dict[str, Any] = {}
        if "max_body_size" in _FASTAPI_OPTIONS:
            options["max_body_size"] = settings.max_body_size
        if _NATIVE_TELEMETRY:
            # svckit makes the server span (and logs, redacted): FastAPI's own would be a
            # second one. Its request metrics stay on.
            options["telemetry"] = {"tracing": False, "logs": False}
        app = _App(
            title=self.title or type(self).__name__,
            version=self.version,
            lifespan=self._lifespan,
            **options,
        )
        app.state.svckit_service = self
        install_problem_handlers(app)
        app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
        app.add_api_route("/livez", self._livez, methods=["GET"], include_in_schema=False)
        app.add_api_route("/readyz", self._readyz, methods=["GET"], include_in_schema=False)
        for router in self.api_routers:
            app.include_router(router)
        if settings.cors_origins:
            app.add_middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials=settings.cors_allow_credentials,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=[REQUEST_ID_HEADER],
            )
        app.svckit_request_options = {
            "service_name": self.name,
            "trusted_hosts": settings.trusted_hosts,
            # OpenTelemetry's FastAPI instrumentation marks the app; then it makes the span.
            "instrumented": lambda: bool(getattr(app, "_is_instrumented_by_opentelemetry", False)),
        }
        return app

    def intakes(self) -> Sequence[Intake]:
        """The consumers, then the HTTP server (stopped first: it feeds the rest).

        Under the app's lifespan (a test client, or ``uvicorn module:app``), the server
        that runs the lifespan serves the app, and the service starts none of its own.
        """
        intakes = list(super().intakes())
        if not self._in_lifespan:
            intakes.append(self.http)
        return intakes

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        if self.state in (ServiceState.STARTING, ServiceState.RUNNING):
            yield  # started by `svckit run`: the service serves the app itself
            return
        if self.state is not ServiceState.NEW:
            raise LifecycleError(
                f"service {self.name!r} already ran ({self.state}); a service runs once: "
                "make a new one"
            )
        self._in_lifespan = True
        async with self:
            yield

    async def _livez(self) -> JSONResponse:
        report = await self.health_report()
        return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.live else 503)

    async def _readyz(self) -> JSONResponse:
        report = await self.health_report()
        return JSONResponse(
            report.model_dump(mode="json"), status_code=200 if report.ready else 503
        )
