"""A small ApiService the API tests run."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from svckit.api import (
    ApiService,
    ApiSettings,
    BusDep,
    CacheDep,
    Problem,
    SettingsDep,
    StorageDep,
    identify,
)
from svckit.core.logging import get_logger
from svckit.messaging import Event

router = APIRouter()
_log = get_logger("tests.api")


class Pinged(Event):
    topic = "apitest.pinged"
    text: str


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    count: int = Field(ge=0)


def _user(request: Request) -> str:
    user = request.headers.get("x-test-user")
    if user is None:
        raise Problem(401, detail="who are you", headers={"WWW-Authenticate": "Bearer"})
    identify(request, user)
    return user


@router.get("/hello")
async def hello(settings: SettingsDep) -> dict[str, str]:
    _log.info("saying hello")
    return {"hello": settings.service_name}


@router.get("/me")
async def me(user: Annotated[str, Depends(_user)]) -> dict[str, str]:
    return {"user": user}


@router.post("/items", status_code=201)
async def create(item: Item) -> Item:
    return item


@router.post("/ping", status_code=202)
async def ping(bus: BusDep) -> dict[str, str]:
    message_id = await bus.publish(Pinged(text="hi"))
    return {"message_id": message_id}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail /etc/passwd")


@router.get("/cached")
async def cached(cache: CacheDep, storage: StorageDep) -> dict[str, bool]:
    await cache.set("k", 1)
    await storage.put("apitest/k", b"x")
    return {"cache": await cache.get("k", int) == 1, "storage": await storage.exists("apitest/k")}


@router.get("/slow")
async def slow(request: Request) -> dict[str, str]:
    gate: asyncio.Event = request.app.state.gate
    request.app.state.entered.set()
    await gate.wait()
    return {"done": "yes"}


class Pinger(ApiService):
    settings: ApiSettings
    api_routers = (router,)

    def create_app(self):  # type: ignore[no-untyped-def]
        app = super().create_app()
        app.state.gate = asyncio.Event()
        app.state.entered = asyncio.Event()
        return app
