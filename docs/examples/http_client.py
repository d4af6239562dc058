"""How-to: call another service over HTTP with an HttpClient resource.

Run it as is (``python docs/examples/http_client.py``): it starts a stand-in for the users
service on a free local port, and an orders service that calls it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic_settings import SettingsConfigDict

from svckit import (
    HealthStatus,
    Resource,
    RetryPolicy,
    Service,
    ServiceSettings,
    bind_context,
    configure_logging,
)
from svckit.http import HttpClient, HttpStatusError, HttpTimeout


# --8<-- [start:settings]
class OrdersSettings(ServiceSettings):
    """Read from ORDERS_* environment variables: ORDERS_USERS_URL=http://users:8000."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_")

    users_url: str = "http://users:8000"


# --8<-- [end:settings]


# --8<-- [start:service]
class Orders(Service):
    settings: OrdersSettings

    def __init__(self, settings: OrdersSettings | None = None) -> None:
        super().__init__(settings)
        self.users = HttpClient(
            self.settings.users_url,
            name="users-api",
            timeout=2.0,  # seconds for each of connect, read, write and pool
            retry=RetryPolicy(attempts=4, initial_delay=0.05, max_delay=1.0, deadline=5.0),
            health_url="/livez",
            service_name=self.settings.service_name,
        )

    def resources(self) -> list[Resource]:
        return [*super().resources(), self.users]

    # --8<-- [end:service]

    # --8<-- [start:calls]
    async def customer_name(self, user_id: int) -> str | None:
        try:
            response = await self.users.get(f"/users/{user_id}")
        except HttpStatusError as exc:
            if exc.status == 404:  # noqa: PLR2004 - the status this call expects
                return None
            raise  # any other 4xx, or 5xx after the retries
        user: dict[str, Any] = response.json()
        return str(user["name"])

    async def reserve_credit(self, user_id: int, order_id: str, amount: int) -> None:
        # A POST is retried only because the key lets the users service drop a repeat.
        await self.users.post(
            f"/users/{user_id}/credit",
            json={"amount": amount},
            headers={"Idempotency-Key": f"reserve-{order_id}"},
        )

    # --8<-- [end:calls]


# --8<-- [start:errors]
async def name_or_placeholder(orders: Orders, user_id: int) -> str:
    try:
        return await orders.customer_name(user_id) or "unknown customer"
    except HttpTimeout:
        return "(users service slow)"
    except HttpStatusError as exc:
        return f"(users service answered {exc.status})"


# --8<-- [end:errors]


class StandInUsers:
    """Stands in for the users service: fails the first read once, as a restart would."""

    def __init__(self) -> None:
        self.request_ids: list[str] = []
        self.credit_posts = 0
        app = web.Application()
        app.router.add_get("/livez", self.livez)
        app.router.add_get("/users/{user_id}", self.get_user)
        app.router.add_post("/users/{user_id}/credit", self.credit)
        self.runner = web.AppRunner(app, access_log=None)

    async def start(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def livez(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def get_user(self, request: web.Request) -> web.Response:
        self.request_ids.append(request.headers["X-Request-ID"])
        if len(self.request_ids) == 1:
            return web.Response(status=503)
        if request.match_info["user_id"] != "7":
            return web.Response(status=404)
        return web.json_response({"id": 7, "name": "Ada"})

    async def credit(self, request: web.Request) -> web.Response:
        self.credit_posts += 1
        assert request.headers["Idempotency-Key"].startswith("reserve-")
        return web.json_response({"reserved": True})


# --8<-- [start:main]
async def main() -> None:
    stand_in = StandInUsers()
    users_url = await stand_in.start()
    settings = OrdersSettings(service_name="orders", users_url=users_url)
    configure_logging(settings)
    orders = Orders(settings)
    try:
        async with orders:  # opens the client with the service's other resources
            report = await orders.health_report()
            assert report.checks["users-api"].status is HealthStatus.UP

            with bind_context(request_id="req-1"):  # as the API kind does per request
                name = await orders.customer_name(7)  # a 503 first: retried
            print(f"customer 7: {name}")
            assert name == "Ada"
            assert stand_in.request_ids == ["req-1", "req-1"]

            print(f"customer 8: {await name_or_placeholder(orders, 8)}")
            await orders.reserve_credit(7, order_id="o-1001", amount=30)
            assert stand_in.credit_posts == 1
    finally:
        await stand_in.runner.cleanup()
    print("http client: ok")


if __name__ == "__main__":
    asyncio.run(main())
# --8<-- [end:main]
