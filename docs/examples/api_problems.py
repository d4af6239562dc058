"""Problem details: what an ApiService answers for each kind of error.

Run it as is (``python docs/examples/api_problems.py``).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel, Field

from svckit.api import ApiService, ApiSettings, Problem
from svckit.testing import ApiHarness

router = APIRouter()
RETRY_IN_DAYS = 30


class Order(BaseModel):
    """An order to place."""

    item: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=100)


# --8<-- [start:raise]
@router.post("/orders", status_code=201, responses={409: {"description": "Out of stock"}})
async def place(order: Order) -> Order:
    """Place an order, or say why not."""
    if order.item == "unicorn":
        raise Problem(
            409,
            "Out of stock",
            detail="no unicorn is left",
            type="https://example.com/problems/out-of-stock",
            retry_in_days=RETRY_IN_DAYS,  # an extension member of the body
        )
    return order


# --8<-- [end:raise]


@router.get("/crash")
async def crash() -> None:
    """A bug: the client learns nothing of it but the request id."""
    raise RuntimeError("connection to db-7.internal:5432 refused")


class Shop(ApiService):
    """A shop with one route that refuses unicorns."""

    settings: ApiSettings
    api_routers = (router,)


async def main() -> None:
    """Show each kind of problem."""
    # The crash's log line has its traceback; CRITICAL leaves it out of this page's output.
    async with ApiHarness(Shop, service_name="shop", log_level="CRITICAL") as api:
        # --8<-- [start:answers]
        refused = await api.client.post("/orders", json={"item": "unicorn", "quantity": 1})
        invalid = await api.client.post("/orders", json={"item": "", "quantity": 0})
        missing = await api.client.get("/nowhere")
        wrong_method = await api.client.delete("/orders")
        crashed = await api.client.get("/crash")
        # --8<-- [end:answers]
    for response in (refused, invalid, missing, wrong_method, crashed):
        assert response.headers["content-type"] == "application/problem+json"
        print(response.status_code, response.json())
    assert refused.json()["retry_in_days"] == RETRY_IN_DAYS
    assert [e["loc"] for e in invalid.json()["errors"]] == [["body", "item"], ["body", "quantity"]]
    assert wrong_method.headers["allow"] == "POST"
    assert "db-7" not in crashed.text
    assert crashed.json()["request_id"] == crashed.headers["x-request-id"]


if __name__ == "__main__":
    asyncio.run(main())
