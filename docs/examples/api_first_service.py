"""The tutorial's API: notes kept in the cache, an event published for each new note.

Run it as a script to see it answer a few requests in-process
(``python docs/examples/api_first_service.py``), or serve it with
``svckit run api_first_service:Notes`` from this folder.
"""

from __future__ import annotations

import asyncio
import uuid
from http import HTTPStatus

from fastapi import APIRouter
from pydantic import BaseModel, Field

from svckit.api import ApiService, ApiSettings, BusDep, CacheDep, Problem
from svckit.messaging import Event


# --8<-- [start:messages]
class NoteIn(BaseModel):
    """A note to keep."""

    text: str = Field(min_length=1, max_length=500)


class Note(NoteIn):
    """A kept note."""

    id: str


class NoteAdded(Event, topic="note.added"):
    """Published for each new note."""

    note_id: str


# --8<-- [end:messages]

# --8<-- [start:routes]
router = APIRouter(prefix="/notes", tags=["notes"])


@router.post("", status_code=201)
async def add(note: NoteIn, cache: CacheDep, bus: BusDep) -> Note:
    """Keep a note for a day and tell the others."""
    kept = Note(id=uuid.uuid4().hex, text=note.text)
    await cache.set(f"note:{kept.id}", kept, ttl=24 * 3600)
    await bus.publish(NoteAdded(note_id=kept.id))
    return kept


@router.get("/{note_id}", responses={404: {"description": "No such note"}})
async def read(note_id: str, cache: CacheDep) -> Note:
    """A kept note."""
    note = await cache.get(f"note:{note_id}", Note)
    if note is None:
        raise Problem(404, detail="no such note")
    return note


# --8<-- [end:routes]


# --8<-- [start:service]
class NotesSettings(ApiSettings):
    """The notes API's settings (``SVCKIT_*`` variables)."""

    service_name: str = "notes"


class Notes(ApiService):
    """A small API: notes in the cache."""

    settings: NotesSettings
    api_routers = (router,)


# --8<-- [end:service]


async def main() -> None:
    """Answer a few requests in-process, as the tests do."""
    from svckit.testing import ApiHarness  # noqa: PLC0415

    async with ApiHarness(Notes) as api:
        added = await api.client.post("/notes", json={"text": "buy milk"})
        print(added.status_code, added.json())
        read_back = await api.client.get(f"/notes/{added.json()['id']}")
        print(read_back.status_code, read_back.json())
        missing = await api.client.get("/notes/nope")
        print(missing.status_code, missing.headers["content-type"], missing.json())
        assert missing.status_code == HTTPStatus.NOT_FOUND


if __name__ == "__main__":
    asyncio.run(main())
