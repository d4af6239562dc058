"""What the pages say about defaults and behaviour, checked against the code."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from svckit import ServiceSettings
from svckit.core import health_server
from svckit.messaging import Bus, Event
from svckit.worker import WorkerSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def page(name: str) -> str:
    # One line per paragraph, so that a claim split over lines still matches.
    return re.sub(r"\s*\n\s*", " ", (DOCS / name).read_text(encoding="utf-8"))


class Ping(Event, topic="docs.claims.ping"):
    n: int


def test_the_worker_health_port_default_is_the_one_the_configuration_page_gives() -> None:
    default = WorkerSettings.model_fields["health_port"].default
    assert default == 8081
    [row] = page("configuration.md").split("| `health_port` |")[1:]
    assert f"(`WorkerSettings`) default it to `{default}`" in row


def test_the_shutdown_timeout_default_is_the_one_the_pages_give() -> None:
    default = ServiceSettings.model_fields["shutdown_timeout"].default
    said = re.findall(
        r"`settings\.shutdown_timeout` \((\d+) s by default\)", page("concepts/service.md")
    )
    assert [float(value) for value in said] == [default]
    assert f"svckit's default is {default:g}" in page("how-to/scaling-out.md")
    assert "30 s by default" not in page("concepts/service.md")


async def test_message_ids_are_what_the_messaging_page_says() -> None:
    assert "32 lowercase hexadecimal characters" in page("concepts/messaging.md")
    assert "not a UUID" in page("concepts/messaging.md")
    async with Bus(f"memory://claims-{uuid.uuid4().hex}") as bus:
        ids = [await bus.publish(Ping(n=n)) for n in range(20)]

    assert all(re.fullmatch(r"[0-9a-f]{32}", message_id) for message_id in ids)
    assert len(set(ids)) == len(ids)


def test_the_tutorial_says_the_harness_ignores_dotenv() -> None:
    tutorial = page("tutorial/first-worker.md")
    assert "never from a `.env` file" in tutorial
    assert "from the environment and `.env`, as `svckit run` does" not in tutorial


def test_the_testing_how_to_promises_nothing_for_later() -> None:
    how_to = page("how-to/testing-with-the-memory-broker.md")
    assert "comes later" not in how_to
    assert "ServiceHarness" in how_to


@pytest.mark.rabbitmq
async def test_an_exchange_declared_otherwise_is_refused_as_the_messaging_page_says() -> None:
    import aio_pika  # noqa: PLC0415 - only with RabbitMQ

    assert "as a **durable** topic exchange" in page("concepts/messaging.md")
    name = f"t-claims-{uuid.uuid4().hex[:12]}"
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=False)
        try:
            with pytest.raises(Exception, match="inequivalent arg 'durable'"):
                async with Bus(AMQP_URL, service="claims", exchange=name):
                    pass
        finally:
            cleanup = await connection.channel()
            await cleanup.exchange_delete(name)


def test_the_health_server_limits_are_the_ones_the_scaling_how_to_gives() -> None:
    how_to = page("how-to/scaling-out.md")
    assert f"a request head over {health_server.MAX_REQUEST // 1024} KiB gets 431" in how_to
    assert f"not sent within {health_server.READ_TIMEOUT:g} seconds gets 408" in how_to
