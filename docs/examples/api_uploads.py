"""An upload by reference: the bytes go to the content store, the message names them.

Run it as is (``python docs/examples/api_uploads.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from http import HTTPStatus

from fastapi import APIRouter, UploadFile

from svckit.api import ApiService, ApiSettings, BusDep, Problem, StorageDep
from svckit.messaging import Command
from svckit.testing import ApiHarness

#: The largest upload taken; the router's body limit stops a bigger one as it is read.
LIMIT = 1024 * 1024


class ScanDocument(Command, topic="document.scan"):
    """Ask a worker to scan a stored document: its key, never its bytes."""

    key: str


# --8<-- [start:route]
router = APIRouter()


@router.post("/documents", status_code=202)
async def upload(file: UploadFile, storage: StorageDep, bus: BusDep) -> dict[str, str]:
    """Take a PDF, store it, and ask for a scan."""
    data = await file.read(LIMIT + 1)
    if len(data) > LIMIT:
        raise Problem(413, detail=f"a document is at most {LIMIT} bytes")
    if not data.startswith(b"%PDF-"):  # the bytes say what it is, not the header
        raise Problem(415, detail="the file is not a PDF")
    key = f"documents/{uuid.uuid4().hex}"
    await storage.put(key, data, ttl=3600)
    await bus.publish(ScanDocument(key=key))
    return {"key": key}


class Documents(ApiService):
    """Takes documents; a worker scans them."""

    settings: ApiSettings

    def create_app(self):  # type: ignore[no-untyped-def]  # noqa: ANN201 - FastAPI's app
        """The app, with the upload route under a body limit of its own."""
        app = super().create_app()
        app.include_router(router, max_body_size=LIMIT + 64 * 1024)
        return app


# --8<-- [end:route]


async def main() -> None:
    """Upload a document and a fake one; see the command that names the stored one."""
    async with ApiHarness(Documents, service_name="documents") as api:
        api.broker.declare_queue("scanner.scan")  # where the scanning worker would listen
        api.broker.bind(api.service.bus.exchange, "scanner.scan", "document.scan")
        pdf = {"file": ("report.pdf", b"%PDF-1.7 ...", "application/pdf")}
        taken = await api.client.post("/documents", files=pdf)
        fake = {"file": ("report.pdf", b"MZ\x90\x00", "application/pdf")}
        refused = await api.client.post("/documents", files=fake)
        [command] = api.published(ScanDocument)
        stored = await api.storage.get(command.key)
    print(taken.status_code, taken.json(), command)
    print(refused.status_code, refused.json()["detail"])
    assert stored == b"%PDF-1.7 ..."
    assert refused.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE


if __name__ == "__main__":
    asyncio.run(main())
