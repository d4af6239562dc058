"""`ApiHarness`: an `ApiService` in the test's loop, with an HTTP client over ASGI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, TypeVar

from svckit.core.logging import configure_logging
from svckit.testing.harness import ServiceHarness

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager
    from types import TracebackType

    import httpx2

    from svckit.api import ApiService

__all__ = ["ApiHarness"]

A = TypeVar("A", bound="ApiService")


class ApiHarness(ServiceHarness[A]):
    """Runs an `ApiService` on embedded backends, through its app's lifespan.

    Entering runs the FastAPI lifespan (which opens the resources and starts the
    consumers, as under uvicorn), then gives `client`, an ``httpx2.AsyncClient`` that
    calls the app over ASGI: no socket, no port. Leaving closes the client and runs the
    lifespan's shutdown.

    Example:
        ```python
        async with ApiHarness(Users) as api:
            response = await api.client.post("/users", json={...})
            assert response.status_code == 201
        ```

    Attributes:
        client: The HTTP client, once entered (base URL ``http://testserver``).
    """

    client: httpx2.AsyncClient

    def __init__(
        self, service: A | type[A], *, client_host: str = "127.0.0.1", **overrides: Any
    ) -> None:
        """Prepare the harness; ``client_host`` is the address requests come from."""
        super().__init__(service, **overrides)
        self._client_host = client_host
        self._lifespan: AbstractAsyncContextManager[Any] | None = None

    async def __aenter__(self) -> Self:
        """Run the app's lifespan start-up, then open the client."""
        import httpx2  # noqa: PLC0415 - the api extra's, needed only here

        configure_logging(self.service.settings)
        app = self.service.app
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        self._lifespan = lifespan
        transport = httpx2.ASGITransport(app=app, client=(self._client_host, 50000))
        self.client = httpx2.AsyncClient(transport=transport, base_url="http://testserver")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client, run the lifespan's shutdown, drop the embedded backends."""
        try:
            if self._lifespan is not None:
                await self.client.aclose()
                lifespan, self._lifespan = self._lifespan, None
                await lifespan.__aexit__(exc_type, exc, tb)
        finally:
            await super().__aexit__(exc_type, exc, tb)
