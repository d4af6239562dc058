"""`FloodControl`: Telegram's flood limits in the bot's session, shared through the cache.

Every outgoing message (``send*``, ``copy*``, ``forward*``, ``edit*``; not
``sendChatAction``) takes a slot in three fixed windows counted in the cache: the bot's
overall rate per second, the chat's (one per second for a private chat, twenty per
minute for a group). A message whose window is full waits for the next one. The counters
are cache counters (``INCR`` on Redis), so every process of the bot on one Redis shares
them: ten replicas send no more than one would.

A 429 answer is never a lost message: the chat is paused for the ``retry_after``
Telegram gave (every process sees the pause through the cache), and the message is sent
again after it. Other chats go on meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter

from svckit.cache import MemoryBackend
from svckit.core.errors import CacheError
from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

    from svckit.cache import Cache

__all__ = ["FloodControl"]

_log = get_logger("svckit.bot.flood")

_COUNTED = ("send", "copy", "forward", "edit")
_NOT_COUNTED = frozenset({"sendChatAction"})


class FloodControl(BaseRequestMiddleware):
    """A request middleware of the bot's session that keeps Telegram's flood limits.

    Args:
        cache: Where the windows and pauses are counted (shared by every process of the
            bot when it is Redis).
        global_rate: Messages per second overall.
        private_rate: Messages per second into one private chat.
        group_rate: Messages per minute into one group or channel.

    Attributes:
        retried: How many 429 answers were waited out and retried.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        global_rate: int = 30,
        private_rate: int = 1,
        group_rate: int = 20,
    ) -> None:
        """Count in ``cache``, with Telegram's limits by default."""
        self._cache = cache
        self._global = (global_rate, 1.0)
        self._private = (private_rate, 1.0)
        self._group = (group_rate, 60.0)
        self._paused: dict[str, float] = {}
        self.retried = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Wait for a slot, send, and on a 429 pause the chat, wait and send again."""
        chat_id = getattr(method, "chat_id", None)
        counted = chat_id is not None and _counted(method.__api_method__)
        chat = str(chat_id)
        while True:
            if counted:
                await self._wait_unpaused(chat)
                await self._take_slot(chat)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.retried += 1
                _log.warning(
                    "Telegram asked to slow down; the message waits and is sent again",
                    method=method.__api_method__,
                    chat_id=chat_id,
                    retry_after=exc.retry_after,
                )
                if counted:
                    await self._pause(chat, exc.retry_after)
                else:
                    await asyncio.sleep(exc.retry_after)

    async def _take_slot(self, chat: str) -> None:
        limit = self._private if not chat.startswith(("-", "@")) else self._group
        await self._slot(f"flood:chat:{chat}", *limit)
        await self._slot("flood:all", *self._global)

    async def _slot(self, key: str, limit: int, window: float) -> None:
        while True:
            now = time.time()
            start = int(now // window)
            try:
                taken = await self._cache.incr(f"{key}:{start}", ttl=window * 2)
            except CacheError:
                # A cache outage must not stop the bot: Telegram's own 429s still hold it.
                _log.warning("flood control cache unavailable; sending unlimited", exc_info=True)
                return
            if taken <= limit:
                return
            await asyncio.sleep((start + 1) * window - now)

    async def _pause(self, chat: str, retry_after: float) -> None:
        until = time.time() + retry_after
        self._paused[chat] = max(self._paused.get(chat, 0.0), until)
        try:
            await self._cache.set(f"flood:pause:{chat}", until, ttl=retry_after + 1)
        except CacheError:
            _log.warning("flood control cache unavailable; pausing this process only")
        await asyncio.sleep(retry_after)

    async def _wait_unpaused(self, chat: str) -> None:
        until = self._paused.get(chat, 0.0)
        if until and until <= time.time():
            del self._paused[chat]
            until = 0.0
        if self._shared_pauses:
            try:
                shared = await self._cache.get(f"flood:pause:{chat}", float)
            except CacheError:
                shared = None
            until = max(until, shared or 0.0)
        delay = until - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    @property
    def _shared_pauses(self) -> bool:
        # A memory cache lives in this process: the local pauses are all there is.
        return not isinstance(self._cache.backend, MemoryBackend)


def _counted(api_method: str) -> bool:
    return api_method.startswith(_COUNTED) and api_method not in _NOT_COUNTED
