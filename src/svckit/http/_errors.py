"""The errors of service-to-service HTTP calls.

The tree, under svckit's root error::

    SvckitError
    └── HttpError                 a call failed (also: an invalid URL, an unsupported scheme)
        ├── HttpStatusError       the server answered with a 4xx or 5xx status
        └── HttpTransportError    no response: connection refused or reset, protocol error
            └── HttpTimeout       a connect, read, write or pool timeout expired

The HTTP library's own exception stays as ``__cause__``. Messages name the method and
the URL with its credentials and secret query values masked, never a body or a header.
This module does not import the HTTP library, so the errors can be caught anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svckit.core.errors import SvckitError

if TYPE_CHECKING:
    from svckit.http._lib import httpx

__all__ = ["HttpError", "HttpStatusError", "HttpTimeout", "HttpTransportError"]

# Spans name an error by its class's module (``error.type``): the public one is stable.
_PUBLIC_MODULE = "svckit.http"


class HttpError(SvckitError):
    """An HTTP call failed.

    Attributes:
        method: The request's method, upper case.
        url: The request's URL, credentials and secret query values masked.
    """

    __module__ = _PUBLIC_MODULE

    def __init__(self, message: str, *, method: str, url: str) -> None:
        """Build the error; ``url`` must already be redacted."""
        super().__init__(message)
        self.method = method
        self.url = url


class HttpStatusError(HttpError):
    """The server answered with an error status (4xx or 5xx).

    Raised after the retries the policy allows, if any. The response is kept for a
    caller that wants its body, such as a problem+json detail.

    Attributes:
        status: The response's status code.
        response: The last response received.
    """

    __module__ = _PUBLIC_MODULE

    def __init__(self, *, method: str, url: str, response: httpx.Response) -> None:
        """Build the error from the last response of a call."""
        status = response.status_code
        reason = response.reason_phrase
        super().__init__(
            f"{method} {url} returned {status}{f' {reason}' if reason else ''}",
            method=method,
            url=url,
        )
        self.status = status
        self.response = response


class HttpTransportError(HttpError):
    """No response came back: the connection was refused, reset or broke the protocol."""

    __module__ = _PUBLIC_MODULE


class HttpTimeout(HttpTransportError):  # noqa: N818 - a timeout, named as the built-in TimeoutError
    """A timeout of the call expired.

    Attributes:
        phase: Which timeout: ``"connect"``, ``"read"``, ``"write"`` or ``"pool"`` (waiting
            for a free connection).
    """

    __module__ = _PUBLIC_MODULE

    def __init__(self, message: str, *, method: str, url: str, phase: str) -> None:
        """Build the error for a timeout in ``phase``."""
        super().__init__(message, method=method, url=url)
        self.phase = phase
