from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests.bot import sample_bots
from tests.bot._support import eventually, harness
from tests.bot.sample_bots import SampleBot

if TYPE_CHECKING:
    from svckit.testing.telegram import FakeTelegram


async def test_start_greets_the_user_by_name_escaped(telegram: FakeTelegram, mode: str) -> None:
    ada = telegram.user("<Ada & co>")
    async with harness(SampleBot, telegram, mode):
        await ada.send("/start")
        [greeting] = await ada.replies(1)

    assert greeting.text == "Hello, &lt;Ada &amp; co&gt;!"


async def test_handlers_receive_the_chassis_by_keyword(telegram: FakeTelegram, mode: str) -> None:
    ada = telegram.user()
    async with harness(SampleBot, telegram, mode) as h:
        await ada.send("/deps")
        [reply] = await ada.replies(1)
        assert await h.cache.get("deps", str) == "seen"
        assert await h.storage.get("bot/deps") == b"ok"

    assert reply.text == "Bus Cache ContentStore SampleSettings SampleBot"


async def test_fsm_state_lives_in_the_cache(telegram: FakeTelegram) -> None:
    ada = telegram.user()
    async with harness(SampleBot, telegram):
        await ada.send("/name")
        await ada.replies(1)
        await ada.send("Ada")
        replies = await ada.replies(2)

    assert replies[1].text == "Nice to meet you, Ada"


async def test_a_failing_handler_does_not_stop_the_bot(telegram: FakeTelegram, mode: str) -> None:
    ada = telegram.user()
    async with harness(SampleBot, telegram, mode):
        await ada.send("/boom")
        await ada.send("still here")
        [echo] = await ada.replies(1)

    assert echo.text == "still here"


async def test_webhook_mode_registers_the_secret(telegram: FakeTelegram) -> None:
    async with harness(SampleBot, telegram, "webhook"):
        assert telegram.webhook_url is not None
        assert telegram.webhook_secret == "s3cret-token"  # noqa: S105 - the test secret


@pytest.mark.parametrize("header", [None, "wrong"])
async def test_webhook_refuses_a_missing_or_wrong_secret(
    telegram: FakeTelegram, header: str | None
) -> None:
    async with harness(SampleBot, telegram, "webhook"):
        url = telegram.webhook_url
        assert url is not None
        headers = {} if header is None else {"X-Telegram-Bot-Api-Secret-Token": header}
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, data=b'{"update_id": 1}', headers=headers) as resp,
        ):
            status, body = resp.status, await resp.read()

    assert (status, body) == (401, b"")


async def test_polling_never_confirms_an_update_whose_handler_runs(
    telegram: FakeTelegram,
) -> None:
    ada, bob = telegram.user("Ada"), telegram.user("Bob")
    sample_bots.RELEASE = asyncio.Event()
    async with harness(SampleBot, telegram):
        slow = await ada.send("/slow")
        await bob.send("meanwhile")
        [echo] = await bob.replies(1)
        # Bob's update finished; Ada's still runs: Telegram still holds hers.
        assert slow in [u["update_id"] for u in telegram.updates.pending]
        sample_bots.RELEASE.set()
        [done] = await ada.replies(1)

    assert (echo.text, done.text) == ("meanwhile", "slow done")
    assert telegram.updates.pending == []


async def test_polling_outlives_dropped_connections_and_server_errors(
    telegram: FakeTelegram,
) -> None:
    ada = telegram.user()
    telegram.inject("drop", method="getUpdates")
    telegram.inject("server_error", method="getUpdates", status=502)
    async with harness(SampleBot, telegram):
        await ada.send("still polling")
        [echo] = await ada.replies(1, timeout=15)

    assert echo.text == "still polling"


@pytest.mark.redis
async def test_fsm_state_on_a_redis_cache(telegram: FakeTelegram) -> None:
    ada = telegram.user()
    name = f"sample-bot-{uuid.uuid4().hex[:8]}"
    async with harness(
        SampleBot, telegram, cache_url="redis://127.0.0.1:6379/0", service_name=name
    ) as h:
        await ada.send("/name")
        await ada.replies(1)
        keys = [key async for key in h.cache.backend._client.scan_iter(f"{name}:fsm:*")]
        await ada.send("Ada")
        replies = await ada.replies(2)

    assert keys  # the state was in Redis, under the service's namespace
    assert replies[1].text == "Nice to meet you, Ada"


async def test_webhook_shutdown_finishes_a_running_handler_and_refuses_new_updates(
    telegram: FakeTelegram,
) -> None:
    ada, bob = telegram.user("Ada"), telegram.user("Bob")
    sample_bots.RELEASE = asyncio.Event()
    sample_bots.STARTED.clear()
    h = harness(SampleBot, telegram, "webhook")
    await h.__aenter__()
    slow = await ada.send("/slow")
    await eventually(lambda: bool(sample_bots.STARTED))
    stopping = asyncio.ensure_future(h.__aexit__(None, None, None))
    await eventually(lambda: not h.service.front._accepting)
    later = await bob.send("too late")
    sample_bots.RELEASE.set()
    await asyncio.wait_for(stopping, 20)

    assert [m.text for m in ada.sent()] == ["slow done"]
    # The slow update was answered 200 (confirmed); the late one waits for the next start.
    assert [u["update_id"] for u in telegram.updates.pending] == [later]
    assert slow != later
