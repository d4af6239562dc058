"""The bot's connection to Telegram as a resource, and how one update is handled."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Self

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.methods import TelegramMethod

from svckit.core.errors import ConfigurationError
from svckit.core.health import Health
from svckit.core.logging import bind, get_logger, unbind

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from aiogram import Bot, Dispatcher
    from aiogram.types import TelegramObject, Update

__all__ = ["BoundIds", "PerCall", "TelegramResource", "handle_update"]

_log = get_logger("svckit.bot")


class TelegramResource:
    """The bot's session: checked with getMe when it opens, closed last of the bot's work."""

    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        """Hold ``bot``'s session."""
        self._bot = bot
        self._open = False

    async def __aenter__(self) -> Self:
        """Ask Telegram who the bot is: a refused token fails the start, never shown."""
        try:
            me = await self._bot.get_me()
        except TelegramUnauthorizedError:
            await self._bot.session.close()
            raise ConfigurationError(
                "Telegram refused the bot token (401 Unauthorized); check SVCKIT_BOT_TOKEN"
            ) from None
        except BaseException:
            await self._bot.session.close()
            raise
        self._open = True
        _log.info("connected to Telegram", bot_id=me.id, username=me.username)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the bot's HTTP session."""
        self._open = False
        await self._bot.session.close()

    async def health(self) -> Health:
        """Up while the session is open (no call to Telegram: probes stay cheap)."""
        return Health.up() if self._open else Health.down("the bot session is closed")


class BoundIds(BaseMiddleware):
    """An outer update middleware: the chat and user ids on every log line of the handler."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Bind ``chat_id`` and ``user_id`` (aiogram found them) around the handler."""
        chat = data.get("event_chat")
        user = data.get("event_from_user")
        values: dict[str, Any] = {}
        if chat is not None:
            values["chat_id"] = chat.id
        if user is not None:
            values["user_id"] = user.id
        token = bind(**values)
        try:
            return await handler(event, data)
        finally:
            unbind(token)


class PerCall(BaseMiddleware):
    """An inner middleware: what a handler asks for fresh per call (a DB ``session``)."""

    def __init__(self, factories: dict[str, Callable[[], Any]]) -> None:
        """Enter ``factories[name]()`` around each handler with a parameter ``name``."""
        self._factories = factories

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Open what the handler wants, call it, close it (commit or roll back)."""
        target = data.get("handler")
        params: set[str] = getattr(target, "params", set())
        wanted = [name for name in self._factories if name in params]
        if not wanted:
            return await handler(event, data)
        async with contextlib.AsyncExitStack() as stack:
            for name in wanted:
                data[name] = await stack.enter_async_context(self._factories[name]())
            return await handler(event, data)


async def handle_update(dispatcher: Dispatcher, bot: Bot, update: Update) -> None:
    """Feed ``update`` to the dispatcher, its id on every log line; send a returned method."""
    token = bind(update_id=update.update_id)
    try:
        response = await dispatcher.feed_update(bot, update)
        if isinstance(response, TelegramMethod):
            await bot(response)
    finally:
        unbind(token)
