"""The fake Telegram server's webhook delivery: each update posted with the secret header."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from svckit.testing.telegram._methods import METHODS
from svckit.testing.telegram._model import ApiError

if TYPE_CHECKING:
    from svckit.testing.telegram._fake import FakeTelegram

__all__ = ["deliver_forever"]

#: Seconds between two tries of an update the bot did not take.
WEBHOOK_RETRY = 0.2


async def deliver_forever(fake: FakeTelegram) -> None:
    """Post pending updates to the webhook, one at a time in order, until cancelled.

    An update is confirmed only on a 2xx answer; otherwise it is tried again after
    `WEBHOOK_RETRY` seconds, and ``getWebhookInfo`` reports the last error.
    """
    async with aiohttp.ClientSession() as session:
        while True:
            if not fake.webhook_url or not fake.updates.pending:
                fake.webhook_set.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(WEBHOOK_RETRY):
                        await fake.webhook_set.wait()
                await _wait_pending(fake)
                continue
            update = fake.updates.pending[0]
            if await _post(fake, session, update):
                fake.updates.confirm(update["update_id"] + 1)
            else:
                await asyncio.sleep(WEBHOOK_RETRY)


async def _wait_pending(fake: FakeTelegram) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WEBHOOK_RETRY):
            await fake.wait_until(lambda: bool(fake.updates.pending and fake.webhook_url))


async def _post(fake: FakeTelegram, session: aiohttp.ClientSession, update: dict[str, Any]) -> bool:
    url = fake.webhook_url
    if url is None:
        return False
    headers = {"Content-Type": "application/json"}
    if fake.webhook_secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = fake.webhook_secret
    try:
        async with session.post(url, data=json.dumps(update), headers=headers) as resp:
            body = await resp.read()
            if resp.status // 100 == 2:  # noqa: PLR2004 - any 2xx
                await _webhook_reply(fake, body)
                return True
            fake.webhook_error = (
                time.time(),
                f"Wrong response from the webhook: {resp.status}",
            )
    except Exception as exc:  # noqa: BLE001 - a bot that is down is retried, as Telegram does
        fake.webhook_error = (time.time(), f"Connection failed: {type(exc).__name__}")
    return False


async def _webhook_reply(fake: FakeTelegram, body: bytes) -> None:
    # A webhook may answer with a method call in its response body, as Telegram allows.
    try:
        reply = json.loads(body) if body else None
    except ValueError:
        return
    if not isinstance(reply, dict) or "method" not in reply:
        return
    method = METHODS.get(str(reply.pop("method")).lower())
    if method is not None:
        with contextlib.suppress(ApiError):
            await method(fake, reply)
