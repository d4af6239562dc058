"""A first service: it greets every user who signs up.

Run it with ``python first_service.py``; stop it with Ctrl+C (SIGINT) or SIGTERM.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic_settings import SettingsConfigDict

from svckit import Service, ServiceSettings, get_logger
from svckit.messaging import Bus, Event, consumer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit import Intake, Resource

log = get_logger(__name__)


# --8<-- [start:message]
class UserSignedUp(Event, topic="user.signed_up"):
    """Someone created an account."""

    user_id: int
    name: str


# --8<-- [end:message]


# --8<-- [start:settings]
class GreeterSettings(ServiceSettings):
    """Read from GREETER_* environment variables and the .env file."""

    model_config = SettingsConfigDict(env_prefix="GREETER_")

    greeting: str = "Hello"


# --8<-- [end:settings]


# --8<-- [start:service]
class Greeter(Service):
    """Greets new users."""

    settings: GreeterSettings  # the settings class this service reads

    def __init__(self, settings: GreeterSettings | None = None) -> None:
        super().__init__(settings)
        # bus_url is memory:// unless GREETER_BUS_URL says amqp://...
        self.bus = Bus(self.settings.bus_url.get_secret_value(), service=self.name)
        self.bus.add_consumer(self.greet)
        self.greeted: list[str] = []

    def resources(self) -> Sequence[Resource]:
        return [*super().resources(), self.bus]

    def intakes(self) -> Sequence[Intake]:
        return [*super().intakes(), *self.bus.consumers]

    @consumer()
    async def greet(self, event: UserSignedUp) -> None:
        greeting = f"{self.settings.greeting}, {event.name}!"
        self.greeted.append(greeting)
        log.info("greeted", user_id=event.user_id, greeting=greeting)


# --8<-- [end:service]

# --8<-- [start:main]
if __name__ == "__main__":
    asyncio.run(Greeter().run())
# --8<-- [end:main]
