"""The tutorial API's tests: the app in-process, over ASGI, its lifespan included."""

from __future__ import annotations

from http import HTTPStatus

from api_first_service import NoteAdded, Notes

from svckit.testing import ApiHarness


# --8<-- [start:tests]
async def test_a_note_is_kept_and_announced() -> None:
    async with ApiHarness(Notes) as api:
        added = await api.client.post("/notes", json={"text": "buy milk"})
        assert added.status_code == HTTPStatus.CREATED
        note = added.json()
        assert api.published(NoteAdded) == [NoteAdded(note_id=note["id"])]

        read = await api.client.get(f"/notes/{note['id']}")
        assert read.json() == note


async def test_errors_are_problem_details() -> None:
    async with ApiHarness(Notes) as api:
        empty = await api.client.post("/notes", json={"text": ""})
        missing = await api.client.get("/notes/nope")

    assert empty.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert empty.json()["errors"][0]["loc"] == ["body", "text"]
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["request_id"] == missing.headers["x-request-id"]


# --8<-- [end:tests]
