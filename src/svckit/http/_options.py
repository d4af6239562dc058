"""The options one call takes, shared by `HttpClient.request` and its method shortcuts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from svckit.http._lib import httpx

__all__ = ["RequestOptions"]


class RequestOptions(TypedDict, total=False):
    """Keyword arguments of one call; all optional.

    Attributes:
        params: Query parameters, added to those already in the URL.
        headers: Headers of this call, on top of the client's own. An ``X-Request-ID``
            given here is sent as it is; an ``Idempotency-Key`` makes any method
            retryable.
        json: A body sent as JSON.
        content: A body sent as it is (``str`` is encoded as UTF-8).
        data: A body sent as an HTML form.
        timeout: Seconds for each of connect, read, write and pool, or an
            ``httpx2.Timeout``; the client's timeouts by default.
        retry: True retries this call even with a method that is not idempotent; False
            never retries it; by default only idempotent methods (GET, HEAD, OPTIONS,
            PUT, DELETE) and calls with an ``Idempotency-Key`` header are retried.
        raise_for_status: Whether a 4xx or 5xx answer raises `HttpStatusError`; the
            client's setting by default.
    """

    params: Mapping[str, Any]
    headers: Mapping[str, str]
    json: Any
    content: bytes | str
    data: Mapping[str, Any]
    timeout: float | httpx.Timeout
    retry: bool
    raise_for_status: bool
