"""The user.created and user.updated consumers: rendered, delivered at most once."""

from __future__ import annotations

import json
import socket

import pytest

from examples.media_worker.messages import UserCreated, UserUpdated
from examples.media_worker.notifications import (
    DeliveryUnknown,
    MemoryNotifier,
    NotDelivered,
    Notification,
    WebhookNotifier,
)
from svckit.http import HttpClient
from tests.examples.media_worker._support import ScriptedNotifier, StartWorker, WebhookServer

ADA = UserCreated(user_id=1, email="ada@example.com", name="Ada")


async def test_a_new_user_is_welcomed_and_an_update_lists_the_changed_fields(
    start_worker: StartWorker,
) -> None:
    notifier = MemoryNotifier()
    harness = await start_worker(notifier=notifier)
    created_id = await harness.publish(ADA)
    updated_id = await harness.publish(
        UserUpdated(user_id=1, email="ada@example.org", changed=("email", "name"))
    )
    await harness.wait_idle()
    assert sorted(notifier.sent, key=lambda sent: sent[1].kind) == [
        (
            updated_id,
            Notification(
                kind="profile_updated",
                user_id=1,
                email="ada@example.org",
                subject="Your profile was updated",
                text="These details of your account changed: email, name.\n\n"
                "If you did not change them, reset your password.",
            ),
        ),
        (
            created_id,
            Notification(
                kind="welcome",
                user_id=1,
                email="ada@example.com",
                subject="Welcome, Ada!",
                text="Hello Ada,\n\nyour account is ready. Upload a picture and we will make a "
                "thumbnail and a compressed copy of it for you.",
            ),
        ),
    ]


async def test_a_duplicated_message_id_is_delivered_once(start_worker: StartWorker) -> None:
    notifier = MemoryNotifier()
    harness = await start_worker(notifier=notifier)
    for _ in range(3):
        await harness.publish(ADA, message_id="signup-1")
    await harness.wait_idle()
    await harness.publish(ADA, message_id="signup-1")
    await harness.wait_idle()
    assert [key for key, _ in notifier.sent] == ["signup-1"]


async def test_an_unknown_outcome_is_not_sent_again(start_worker: StartWorker) -> None:
    notifier = ScriptedNotifier(DeliveryUnknown("no answer"))
    harness = await start_worker(notifier=notifier)
    await harness.publish(ADA, message_id="signup-2")
    await harness.wait_idle()
    # As if the ack had been lost and the broker delivered the message again:
    assert await harness.cache.delete("inbox:media-worker.notify_user_created:signup-2")
    await harness.publish(ADA, message_id="signup-2")
    await harness.wait_idle()
    assert notifier.attempts == ["signup-2"]
    assert notifier.delivered == []
    assert harness.dead_letters() == []


async def test_a_surely_failed_delivery_is_retried_until_it_arrives(
    start_worker: StartWorker,
) -> None:
    notifier = ScriptedNotifier(NotDelivered("refused"))
    harness = await start_worker(notifier=notifier)
    await harness.publish(ADA, message_id="signup-3")
    await harness.wait_idle()
    assert notifier.attempts == ["signup-3", "signup-3"]
    assert [key for key, _ in notifier.delivered] == ["signup-3"]
    assert harness.dead_letters() == []


async def test_a_permanent_refusal_is_dead_lettered_and_can_be_replayed(
    start_worker: StartWorker,
) -> None:
    notifier = ScriptedNotifier(NotDelivered("gone", permanent=True))
    harness = await start_worker(notifier=notifier)
    await harness.publish(ADA, message_id="signup-4")
    await harness.wait_idle()
    [letter] = harness.dead_letters("notify_user_created")
    assert "refused: gone" in letter.error_message
    assert notifier.attempts == ["signup-4"]
    # The claim was dropped, so a replay of the dead letter delivers it.
    assert await harness.service.cache.get("notified:signup-4", str) is None


async def test_the_webhook_gets_json_with_the_message_id_as_idempotency_key(
    start_worker: StartWorker,
) -> None:
    async with WebhookServer() as server:
        harness = await start_worker(webhook_url=server.url)
        message_id = await harness.publish(ADA)
        await harness.wait_idle()
    [request] = server.received
    assert (request.method, request.path) == ("POST", "/hooks/users")
    assert request.headers["idempotency-key"] == message_id
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["kind"] == "welcome"
    assert body["user_id"] == 1
    assert body["email"] == "ada@example.com"
    assert body["subject"] == "Welcome, Ada!"


async def test_a_webhook_that_answers_503_gets_the_same_notification_again_later(
    start_worker: StartWorker,
) -> None:
    async with WebhookServer(503) as server:
        harness = await start_worker(webhook_url=server.url)
        message_id = await harness.publish(ADA)
        await harness.wait_idle()
    assert [r.headers["idempotency-key"] for r in server.received] == [message_id, message_id]
    assert harness.dead_letters() == []


async def test_a_webhook_that_hangs_up_without_answering_is_not_called_again(
    start_worker: StartWorker,
) -> None:
    async with WebhookServer(None) as server:
        harness = await start_worker(webhook_url=server.url)
        await harness.publish(ADA, message_id="signup-5")
        await harness.wait_idle()
        assert await harness.cache.delete("inbox:media-worker.notify_user_created:signup-5")
        await harness.publish(ADA, message_id="signup-5")
        await harness.wait_idle()
    assert len(server.received) == 1
    assert harness.dead_letters() == []


async def test_an_unreachable_webhook_is_surely_not_delivered() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notification = Notification("welcome", 1, "ada@example.com", "Hi", "Hello")
    async with HttpClient(f"http://127.0.0.1:{port}/hook") as client:
        with pytest.raises(NotDelivered) as caught:
            await WebhookNotifier(client).send(notification, key="k")
    assert not caught.value.permanent
