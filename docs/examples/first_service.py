"""A first service: a worker that greets every user who signs up.

Run it with ``python first_service.py`` (or ``svckit run first_service:Greeter``); stop it
with Ctrl+C (SIGINT) or SIGTERM.
"""

from __future__ import annotations

import asyncio

from pydantic_settings import SettingsConfigDict

from svckit import get_logger
from svckit.messaging import Event
from svckit.worker import WorkerService, WorkerSettings, consumer

log = get_logger(__name__)


# --8<-- [start:messages]
class UserSignedUp(Event, topic="user.signed_up"):
    """Someone created an account."""

    user_id: int
    name: str


class UserGreeted(Event, topic="user.greeted"):
    """The greeter said hello."""

    user_id: int
    greeting: str


# --8<-- [end:messages]


# --8<-- [start:settings]
class GreeterSettings(WorkerSettings):
    """Read from GREETER_* environment variables and the .env file."""

    model_config = SettingsConfigDict(env_prefix="GREETER_")

    greeting: str = "Hello"


# --8<-- [end:settings]


# --8<-- [start:service]
class Greeter(WorkerService):
    """Greets new users."""

    settings: GreeterSettings  # the settings class this service reads

    @consumer()
    async def greet(self, event: UserSignedUp) -> None:
        greeting = f"{self.settings.greeting}, {event.name}!"
        log.info("greeting a new user", user_id=event.user_id)
        await self.publish(UserGreeted(user_id=event.user_id, greeting=greeting))


# --8<-- [end:service]

# --8<-- [start:main]
if __name__ == "__main__":
    asyncio.run(Greeter().run())
# --8<-- [end:main]
