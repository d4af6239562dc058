"""The HTTP library svckit adapts, imported here only, with the install hint if it is absent.

It is ``httpx2``: the httpx line that Starlette's and FastAPI's test clients are built on,
so a service and its tests load one HTTP stack.
"""

from __future__ import annotations

from svckit.core._extras import require

require("httpx2", "worker")

import httpx2 as httpx  # noqa: E402 - checked just above, for the install hint

__all__ = ["httpx"]
