"""``svckit demo``: a small service on the embedded defaults, driven by a short script.

It shows the chassis end to end with no infrastructure: a service opens its bus, a
consumer handles events, a failing one is retried and then dead-lettered with its error,
and the service shuts down in phases with its one-line report.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svckit.core.logging import configure_logging
from svckit.core.retry import RetryPolicy
from svckit.core.service import Service
from svckit.core.settings import ServiceSettings
from svckit.messaging import Bus, Event, Incoming, consumer
from svckit.messaging.dead_letters import DeadLetters
from svckit.messaging.memory import MemoryTransport

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from svckit.core.resource import Resource
    from svckit.core.work import Intake


class UserSignedUp(Event, topic="user.signed_up"):
    """A user created an account."""

    user_id: int
    name: str


class Greeter(Service):
    """Greets new users; refuses names it cannot greet."""

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        """Create the bus and add the consumer."""
        super().__init__(settings)
        self.bus = Bus(self.settings.bus_url.get_secret_value(), service=self.name)
        self.bus.add_consumer(self.greet)
        self.greeted: list[str] = []

    def resources(self) -> Sequence[Resource]:
        """The bus."""
        return [self.bus]

    def intakes(self) -> Sequence[Intake]:
        """The greet consumer."""
        return self.bus.consumers

    @consumer(retry=RetryPolicy(attempts=3, initial_delay=0.05, max_delay=0.2))
    async def greet(self, event: UserSignedUp, incoming: Incoming) -> None:
        """Say hello, or fail for an empty name."""
        if not event.name.strip():
            say(f"  greeter: user {event.user_id} has no name (attempt {incoming.attempt})")
            raise ValueError(f"user {event.user_id} has an empty name")
        self.greeted.append(event.name)
        say(f"  greeter: hello, {event.name}!")


def say(line: str) -> None:
    """Print a line of the demo's story."""
    print(line, flush=True)


def add_parser(commands: Any) -> None:
    """Add ``demo`` to the ``svckit`` parser."""
    demo = commands.add_parser(
        "demo",
        help="run the example services on the embedded defaults",
        description="Run the bundled example services on the embedded broker and cache "
        "with a scripted scenario, printing what each did. From a source checkout this "
        "is the media worker with a sample photo; elsewhere, a small greeter service.",
    )
    demo.add_argument(
        "--greeter", action="store_true", help="run the small built-in greeter scenario"
    )
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.greeter:
        run_media_demo = _media_demo()
        if run_media_demo is not None:
            return int(asyncio.run(run_media_demo(say=say)))
        say("(the example services live in svckit's source tree; running the greeter)")
    settings = ServiceSettings(service_name="greeter", log_level="INFO")
    configure_logging(settings)
    return asyncio.run(_scenario(settings))


def _media_demo() -> Any:
    # The examples are not part of the installed package: they are found in a checkout,
    # from its root (as `make demo` runs it).
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module("examples.media_worker.demo")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.startswith("examples"):
            return None
        raise
    return module.run_demo


async def _scenario(settings: ServiceSettings) -> int:
    say("svckit demo: one service on the embedded broker (no infrastructure needed)")
    service = Greeter(settings)
    async with service:
        say(f"service {service.name!r} started; ready={service.ready}")
        for user_id, name in [(1, "Ada"), (2, "Grace"), (3, " ")]:
            say(f"publish user.signed_up user_id={user_id} name={name!r}")
            await service.bus.publish(UserSignedUp(user_id=user_id, name=name))
        transport = service.bus.transport
        assert isinstance(transport, MemoryTransport)  # noqa: S101 - the demo's own default
        await transport.broker.wait_idle()
        letters = await DeadLetters(transport, service.bus.consumers[0].name).list()
        for letter in letters:
            say(
                f"dead letter: {letter.topic} after {letter.attempt} attempts: "
                f"{letter.error_type}: {letter.error_message}"
            )
        health = await service.health_report()
        checks = {name: check.status.value for name, check in health.checks.items()}
        say(f"health: ready={health.ready} checks={checks}")
    say(f"service stopped; greeted {service.greeted}")
    ok = service.greeted == ["Ada", "Grace"] and len(letters) == 1
    if not ok:
        print("svckit demo: the scenario did not go as expected", file=sys.stderr)
    return 0 if ok else 1
