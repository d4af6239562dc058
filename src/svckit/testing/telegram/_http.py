"""The fake Telegram server's HTTP side: the Bot API route, faults and file downloads."""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from svckit.testing.telegram._methods import METHODS, Upload
from svckit.testing.telegram._model import ApiError

if TYPE_CHECKING:
    from svckit.testing.telegram._fake import FakeTelegram
    from svckit.testing.telegram._faults import Fault

__all__ = ["routes"]


def routes(fake: FakeTelegram, app: web.Application) -> None:
    """Add the Bot API and the file download routes of ``fake`` to ``app``."""

    async def api(request: web.Request) -> web.StreamResponse:
        return await _api(fake, request)

    async def download(request: web.Request) -> web.StreamResponse:
        return await _download(fake, request)

    app.router.add_route("*", "/bot{token}/{method}", api)
    app.router.add_get("/file/bot{token}/{path:.+}", download)


async def _api(fake: FakeTelegram, request: web.Request) -> web.StreamResponse:
    if not hmac.compare_digest(request.match_info["token"].encode(), fake.token.encode()):
        return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
    name = request.match_info["method"]
    method = METHODS.get(name.lower())
    if method is None:
        return web.json_response(ApiError(404, "Not Found").body(), status=404)
    try:
        params = await _read_params(request)
    except ValueError:
        return web.json_response(ApiError.bad_request("can't parse request").body(), status=400)
    chat_id = params.get("chat_id")
    fake.requests.append((time.time(), name, chat_id))
    fake.notify()
    fault = next((f for f in fake.faults if f.matches(name, chat_id)), None)
    if fault is not None:
        fault.hits += 1
        answer = await _fault(fault, request)
        if answer is not None:
            return answer
    try:
        result = await method(fake, params)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    return web.json_response({"ok": True, "result": result})


async def _fault(fault: Fault, request: web.Request) -> web.StreamResponse | None:
    if fault.kind == "retry_after":
        error = ApiError(
            429,
            f"Too Many Requests: retry after {fault.retry_after}",
            {"retry_after": fault.retry_after},
        )
        return web.json_response(error.body(), status=429)
    if fault.kind == "server_error":
        error = ApiError(fault.status, "Internal Server Error")
        return web.json_response(error.body(), status=fault.status)
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return None
    # drop: close the connection with no answer at all.
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


async def _download(fake: FakeTelegram, request: web.Request) -> web.StreamResponse:
    if not hmac.compare_digest(request.match_info["token"].encode(), fake.token.encode()):
        return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
    path = request.match_info["path"]
    fake.requests.append((time.time(), "download", None))
    for stored in fake.files.values():
        if stored.path == path and stored.content is not None:
            return web.Response(body=stored.content, content_type="application/octet-stream")
    return web.json_response(ApiError(404, "Not Found").body(), status=404)


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("not an object")
        params.update(body)
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = Upload(value.file.read(), value.filename)
            else:
                params[key] = value
    return params
