"""The `HttpClient` resource: one connection pool per remote service, held while it runs."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Self, Unpack

from pydantic import SecretStr

from svckit.core.errors import ConfigurationError, LifecycleError
from svckit.core.health import Health
from svckit.core.retry import RetryPolicy
from svckit.core.telemetry import get_tracer
from svckit.http._decide import RETRY_STATUSES, may_retry, next_delay
from svckit.http._errors import HttpStatusError, HttpTransportError
from svckit.http._lib import httpx
from svckit.http._observe import REQUEST_ID_HEADER, log_retry, request_id, safe_url
from svckit.http._send import redact_url, send_once

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from types import TracebackType

    from opentelemetry.trace import TracerProvider

    from svckit.http._options import RequestOptions

__all__ = ["HttpClient"]

#: Connect and pool waits are short: a peer that does not accept soon is likely gone.
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=3.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
DEFAULT_RETRY = RetryPolicy(attempts=3, initial_delay=0.1, max_delay=5.0)

# The query, body and timeout options handed to the library as they are.
_PASSED = frozenset({"params", "json", "content", "data", "timeout"})


class HttpClient:
    """Calls to another service over HTTP, as a resource of the calling service.

    One ``httpx2.AsyncClient`` is opened with the resource and kept until it closes, so
    calls reuse pooled keep-alive connections. Every call:

    - carries ``X-Request-ID`` (the bound ``request_id``, else a new id per call, the
      same on each retry of it) and the W3C trace context of its CLIENT span;
    - is retried by the `RetryPolicy` when that is safe (see `RequestOptions.retry`) and
      the failure may pass: no response, or 429, 502, 503, 504; a ``Retry-After`` on a
      429 or 503 sets the wait, up to the policy's ``max_delay``;
    - raises `HttpStatusError` for a 4xx or 5xx answer (unless ``raise_for_status`` is
      off) and `HttpTransportError` or `HttpTimeout` when no answer came.

    Example:
        ```python
        users = HttpClient("http://users:8000", name="users-api")
        async with users:
            response = await users.get(f"/users/{user_id}")
            user = User.model_validate_json(response.content)
        ```

    Attributes:
        name: The resource name in health reports.
        retry: How failed calls are retried.
        timeout: The default timeouts of each call.
        limits: The pool's size and keep-alive limits.
        raise_for_status: Whether a 4xx or 5xx answer raises by default.
    """

    def __init__(
        self,
        base_url: str | SecretStr = "",
        *,
        name: str = "http",
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        retry: RetryPolicy = DEFAULT_RETRY,
        headers: Mapping[str, str] | None = None,
        raise_for_status: bool = True,
        health_url: str | None = None,
        health_timeout: float = 1.0,
        service_name: str = "svckit",
        tracer_provider: TracerProvider | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Describe the client; nothing connects until it is opened.

        Args:
            base_url: The service's root, such as ``"http://users:8000/api/"``; relative
                URLs of the calls are joined to it. A `SecretStr` (from settings) is
                accepted; credentials in it are sent as Basic auth, never shown.
            name: The resource name in health reports.
            timeout: Seconds for each of connect, read, write and pool, or an
                ``httpx2.Timeout`` setting them one by one; by default connect 3, read
                10, write 10, pool 3.
            limits: An ``httpx2.Limits``; by default 100 connections, 20 kept alive.
            retry: The retry policy; by default 3 tries, 0.1 s growing to 5 s apart.
            headers: Headers sent with every call.
            raise_for_status: Whether a 4xx or 5xx answer raises `HttpStatusError`.
            health_url: A URL (relative to ``base_url``) that `health` probes with a GET;
                by default `health` makes no call.
            health_timeout: Seconds the health probe may take.
            service_name: The calling service's name, on the tracer's scope.
            tracer_provider: Where spans go; the global OpenTelemetry provider by default.
            transport: An ``httpx2`` transport to use instead of the network, such as
                ``httpx2.ASGITransport(app)`` in tests; ``limits`` do not apply to it.

        Raises:
            ConfigurationError: ``base_url`` is not a URL.
        """
        raw = base_url.get_secret_value() if isinstance(base_url, SecretStr) else base_url
        try:
            self._base_url = httpx.URL(raw)
        except httpx.InvalidURL as exc:
            raise ConfigurationError(f"invalid base URL {redact_url(raw)!r}") from exc
        self.name = name
        self.retry = retry
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.limits = limits
        self.raise_for_status = raise_for_status
        self._headers = dict(headers or {})
        self._health_url = health_url
        self._health_timeout = health_timeout
        self._transport = transport
        self._tracer = get_tracer(service_name, tracer_provider=tracer_provider)
        self._client: httpx.AsyncClient | None = None
        # Replaced by tests that check the schedule without waiting it out.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._clock: Callable[[], float] = time.monotonic

    @property
    def base_url(self) -> str:
        """The base URL as it may be shown: no user info, secret query values masked."""
        return safe_url(self._base_url)

    def __repr__(self) -> str:
        """Name and base URL, never a credential."""
        return f"HttpClient(name={self.name!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ Resource

    async def __aenter__(self) -> Self:
        """Open the connection pool (no connection is made until the first call).

        Raises:
            LifecycleError: The client is open already.
        """
        if self._client is not None:
            raise LifecycleError(f"the HTTP client {self.name!r} is open already")
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=self.timeout,
            limits=self.limits,
            transport=self._transport,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the pool's connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def health(self) -> Health:
        """Up while open; with a ``health_url``, degraded when the probe fails.

        The probe is one GET with the ``health_timeout``, not retried; a 4xx or 5xx
        answer or no answer makes the client degraded (it still serves calls).
        """
        client = self._client
        if client is None:
            return Health.down("not open")
        if self._health_url is None:
            return Health.up(self.base_url)
        target = safe_url(client.build_request("GET", self._health_url).url)
        try:
            response = await client.get(self._health_url, timeout=self._health_timeout)
        except httpx.HTTPError as exc:
            return Health.degraded(f"GET {target} failed: {type(exc).__name__}")
        if response.is_error:
            return Health.degraded(f"GET {target} returned {response.status_code}")
        return Health.up(target)

    # ------------------------------------------------------------------ calls

    async def request(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        """Send a request, retrying by the policy when that is safe, and return the answer.

        Args:
            method: The HTTP method, in any case.
            url: Relative to the base URL, or absolute.
            **options: See `RequestOptions`.

        Returns:
            The response, its body read.

        Raises:
            HttpStatusError: The last answer was a 4xx or 5xx (and ``raise_for_status``).
            HttpTimeout: The last try timed out.
            HttpTransportError: The last try got no answer.
            HttpError: The request could not be made (a bad URL or scheme).
            LifecycleError: The client is not open.
        """
        client = self._opened()
        method = method.upper()
        headers = httpx.Headers(self._headers)
        headers.update(options.get("headers") or {})
        rid = request_id(headers.get(REQUEST_ID_HEADER))
        headers[REQUEST_ID_HEADER] = rid
        retryable = may_retry(method, options.get("headers") or {}, retry=options.get("retry"))
        passed: dict[str, Any] = {key: value for key, value in options.items() if key in _PASSED}
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            error: HttpStatusError | HttpTransportError
            try:
                response = await send_once(
                    client,
                    self._tracer,
                    method,
                    url,
                    headers=headers,
                    passed=passed,
                    request_id=rid,
                    attempt=attempt,
                )
            except HttpTransportError as exc:
                error = exc
            else:
                if response.status_code not in RETRY_STATUSES:
                    return self._checked(
                        method, response, raise_for_status=options.get("raise_for_status")
                    )
                error = HttpStatusError(
                    method=method, url=safe_url(response.request.url), response=response
                )
            delay = (
                next_delay(self.retry, error, attempt, self._clock() - started)
                if retryable
                else None
            )
            if delay is None:
                if isinstance(error, HttpStatusError):
                    return self._checked(
                        method, error.response, raise_for_status=options.get("raise_for_status")
                    )
                raise error
            log_retry(error, request_id=rid, attempt=attempt, delay=delay)
            await self._sleep(delay)

    async def get(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a GET; see `request`."""
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a POST, not retried without ``retry=True`` or an ``Idempotency-Key``."""
        return await self.request("POST", url, **options)

    async def put(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a PUT; see `request`."""
        return await self.request("PUT", url, **options)

    async def patch(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a PATCH, not retried without ``retry=True`` or an ``Idempotency-Key``."""
        return await self.request("PATCH", url, **options)

    async def delete(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a DELETE; see `request`."""
        return await self.request("DELETE", url, **options)

    # ------------------------------------------------------------------ one try

    def _opened(self) -> httpx.AsyncClient:
        if self._client is None:
            raise LifecycleError(
                f"the HTTP client {self.name!r} is not open: use it in `async with`, "
                "or return it from the service's resources()"
            )
        return self._client

    def _checked(
        self, method: str, response: httpx.Response, *, raise_for_status: bool | None
    ) -> httpx.Response:
        if response.is_error and (
            self.raise_for_status if raise_for_status is None else raise_for_status
        ):
            raise HttpStatusError(
                method=method, url=safe_url(response.request.url), response=response
            )
        return response
