"""`Polling`: getUpdates in svckit's own loop, acknowledging only finished updates.

aiogram's polling moves the offset past an update as soon as it has fetched it, so an
update whose handler was running when the process died is lost. Here the offset sent to
Telegram (which confirms every update below it) never passes an update whose handler has
not finished: a crash, a kill or a cut-off at shutdown leaves it unconfirmed and Telegram
hands it out again. While a slow handler holds the offset back, getUpdates returns the
updates after it again; those already taken are skipped, not handled twice.

On shutdown, polling stops, the handlers in flight finish under the deadline, and one
last getUpdates confirms what finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from aiogram.methods import GetUpdates

from svckit.core.logging import get_logger
from svckit.core.work import DrainReport, InFlight

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiogram import Bot
    from aiogram.types import Update

__all__ = ["Polling"]

_log = get_logger("svckit.bot.polling")

#: Seconds between two looks while every update Telegram returns is still being handled.
HELD_BACK_PAUSE = 0.2
#: getUpdates returns at most this many updates from the offset on.
BATCH = 100
_BACKOFF = (0.5, 1.0, 2.0, 5.0)


class Polling:
    """The bot's intake in polling mode (an `svckit.core.work.Intake`)."""

    name = "telegram-polling"

    def __init__(
        self,
        bot: Bot,
        process: Callable[[Update], Awaitable[None]],
        *,
        timeout: int,
        concurrency: int,
        allowed_updates: list[str] | None = None,
    ) -> None:
        """Poll ``bot`` and hand each update to ``process``, ``concurrency`` at a time."""
        self._bot = bot
        self._process = process
        self._timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._allowed = allowed_updates
        self._work = InFlight()
        self._task: asyncio.Task[None] | None = None
        self._taken: set[int] = set()  # handed to a handler, at or above the offset
        self._running: set[int] = set()  # not finished yet
        self._next = 0  # one past the highest update id taken
        self._confirmed = 0  # the offset Telegram was last sent
        self._progress = asyncio.Event()

    @property
    def offset(self) -> int:
        """The offset that confirms every finished update and none still running."""
        return min(self._running) if self._running else self._next

    async def start(self) -> None:
        """Start polling (a webhook left set is deleted: Telegram allows one or the other)."""
        await self._bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.get_running_loop().create_task(self._poll_forever())

    async def stop(self) -> None:
        """Stop asking for updates; the handlers already running go on."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self, timeout: float) -> DrainReport:
        """Let the running handlers finish under ``timeout``, then confirm what finished."""
        report = await self._work.drain(timeout)
        await self._confirm()
        return report

    async def _poll_forever(self) -> None:
        failures = 0
        while True:
            offset = self.offset
            request = GetUpdates(
                offset=offset or None,
                timeout=self._timeout,
                allowed_updates=self._allowed,
            )
            try:
                updates = await self._bot(request, request_timeout=self._timeout + 10)
            except Exception as exc:  # noqa: BLE001 - polling outlives Telegram's outages
                delay = _BACKOFF[min(failures, len(_BACKOFF) - 1)]
                failures += 1
                _log.warning(
                    "getUpdates failed; polling again",
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            self._confirmed = max(self._confirmed, offset)
            self._forget_below(offset)
            fresh = [u for u in updates if u.update_id not in self._taken]
            for update in fresh:
                await self._slots.acquire()
                self._take(update)
            await self._wait_for_room(progress=not fresh)

    async def _wait_for_room(self, *, progress: bool) -> None:
        """Before polling again, let the held-back part of the next batch shrink.

        Telegram returns the updates from the offset on, and the offset stays at the
        oldest update still running: the next batch repeats those. Waiting (a little)
        until at most half a batch is held back keeps most of each batch new; after a
        batch of nothing new, wait for at least one handler to finish.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HELD_BACK_PAUSE
        while self._running and (progress or self._next - self.offset > BATCH // 2):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._progress.wait()
            progress = False

    def _take(self, update: Update) -> None:
        update_id = update.update_id
        self._taken.add(update_id)
        self._running.add(update_id)
        self._next = max(self._next, update_id + 1)
        self._work.spawn(self._handle(update), name=f"svckit:update:{update_id}")

    async def _handle(self, update: Update) -> None:
        try:
            await self._process(update)
        except asyncio.CancelledError:
            # Cut off at shutdown: left unconfirmed, so Telegram hands it out again.
            self._slots.release()
            raise
        except Exception:  # noqa: BLE001 - one failed handler is logged, not redelivered forever
            _log.exception("update handler failed", update_id=update.update_id)
        self._running.discard(update.update_id)
        self._slots.release()
        self._progress.set()

    def _forget_below(self, offset: int) -> None:
        if self._taken and offset:
            self._taken = {u for u in self._taken if u >= offset}

    async def _confirm(self) -> None:
        offset = self.offset
        if offset <= self._confirmed:
            return
        try:
            await self._bot(GetUpdates(offset=offset, limit=1, timeout=0))
        except Exception as exc:  # noqa: BLE001 - what is not confirmed comes again: no loss
            _log.warning("could not confirm the finished updates", error=type(exc).__name__)
        else:
            self._confirmed = offset
