"""Service-to-service HTTP calls: `HttpClient`, a resource on one pooled ``httpx2`` client.

Needs ``pip install "svckit[worker]"`` (or ``[api]``); importing this package without
``httpx2`` raises `svckit.MissingExtraError` with that hint.

Errors, all under `svckit.SvckitError`::

    HttpError                 a call failed (also: an invalid URL, an unsupported scheme)
    ├── HttpStatusError       the server answered with a 4xx or 5xx status
    └── HttpTransportError    no response: connection refused or reset, protocol error
        └── HttpTimeout       a connect, read, write or pool timeout expired
"""

from __future__ import annotations

from svckit.http._client import HttpClient
from svckit.http._errors import HttpError, HttpStatusError, HttpTimeout, HttpTransportError
from svckit.http._options import RequestOptions

__all__ = [
    "HttpClient",
    "HttpError",
    "HttpStatusError",
    "HttpTimeout",
    "HttpTransportError",
    "RequestOptions",
]
