"""An ApiService for `svckit run`: its slow route finishes when a file appears."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from fastapi import APIRouter

from svckit.api import ApiService, ApiSettings
from svckit.core.logging import get_logger

router = APIRouter()
_log = get_logger("tests.slow")


@router.get("/slow")
async def slow() -> dict[str, str]:
    release = Path(os.environ["SLOW_RELEASE_FILE"])
    _log.info("slow request entered")
    # The test's signal to finish: a file, since the process takes no new requests then.
    while not release.exists():  # noqa: ASYNC110, ASYNC240 - no event crosses processes
        await asyncio.sleep(0.01)
    return {"done": "yes"}


@router.get("/fast")
async def fast() -> dict[str, str]:
    return {"fast": "yes"}


class Slow(ApiService):
    settings: ApiSettings
    api_routers = (router,)
