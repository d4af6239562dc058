"""`Webhook`: Telegram posts updates to the bot's own small aiohttp server.

The secret Telegram was given with setWebhook comes back in the
``X-Telegram-Bot-Api-Secret-Token`` header; it is compared in constant time, and any
request without it is answered 401 with no detail. An update is answered 200 only after
its handler finished, so a crash or a cut-off means no answer and Telegram delivers it
again. On shutdown the server answers 503 to new updates (Telegram retries them), lets
the running handlers finish, then closes.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from svckit.core.logging import get_logger
from svckit.core.work import DrainReport, InFlight

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiogram import Bot

__all__ = ["SECRET_HEADER", "Webhook"]

_log = get_logger("svckit.bot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
#: The largest update body read (Telegram's updates are a few kilobytes).
MAX_UPDATE = 1024 * 1024


class Webhook:
    """The bot's intake in webhook mode (an `svckit.core.work.Intake`)."""

    name = "telegram-webhook"

    def __init__(
        self,
        bot: Bot,
        process: Callable[[Update], Awaitable[None]],
        *,
        url: str,
        secret: str | None,
        host: str,
        port: int,
        concurrency: int,
        allowed_updates: list[str] | None = None,
    ) -> None:
        """Serve ``url``'s path on ``host:port`` and register ``url`` with Telegram."""
        self._bot = bot
        self._process = process
        self._url = url
        self._path = urlsplit(url).path or "/"
        self._secret = secret.encode() if secret else None
        self._host = host
        self._port = port
        self._concurrency = concurrency
        self._allowed = allowed_updates
        self._work = InFlight()
        self._accepting = False
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port it listens on (after `start`, also when 0 was asked)."""
        return self._port

    async def start(self) -> None:
        """Listen, then register the webhook (with its secret) with Telegram."""
        app = web.Application(client_max_size=MAX_UPDATE)
        app.router.add_post(self._path, self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # noqa: SLF001 - the bound port
        if sockets:
            self._port = int(sockets[0].getsockname()[1])
        self._accepting = True
        await self._bot.set_webhook(
            self._url,
            secret_token=self._secret.decode() if self._secret else None,
            allowed_updates=self._allowed,
            max_connections=self._concurrency,
        )
        _log.info("webhook listening", host=self._host, port=self._port, path=self._path)

    async def stop(self) -> None:
        """Answer 503 to new updates from now on (Telegram delivers them again later)."""
        self._accepting = False

    async def drain(self, timeout: float) -> DrainReport:
        """Let the running handlers finish under ``timeout``, then close the server."""
        report = await self._work.drain(timeout)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        return report

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.Response(status=401)
        if not self._accepting:
            return web.Response(status=503)
        try:
            body = await request.read()
            update = Update.model_validate_json(body, context={"bot": self._bot})
        except (ValidationError, ValueError):
            return web.Response(status=400)
        task = self._work.begin()
        try:
            await self._process(update)
        except Exception:  # noqa: BLE001 - a failed handler is logged, not redelivered forever
            _log.exception("update handler failed", update_id=update.update_id)
        finally:
            self._work.end(task)
        return web.Response(status=200)

    def _authorized(self, request: web.Request) -> bool:
        if self._secret is None:
            return True
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)
