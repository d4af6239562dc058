"""What ``svckit outbox`` prints, checked against the command itself.

The transcripts below are what the docs show. ``main`` makes the same failed rows (a
command that no queue receives) in a SQLite file of its own, then runs the command's
code in this process on that service and checks that it prints what the transcripts say.

Run it as is (``python docs/examples/outbox_cli.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import tempfile

from svckit.cli import main as svckit_main
from svckit.core.retry import RetryPolicy
from svckit.messaging import Command
from svckit.testing import ServiceHarness
from svckit.worker import WorkerService

LIST = """
# --8<-- [start:list]
$ svckit outbox list shipping:Shipping
      ID  STATUS   TRIES  TOPIC                          KEY                  ERROR
       1  failed       3  shipping.label                 order:7              UnroutableError: no queue is bound for 'shipping.label' on exchange 'svckit'
       2  failed       3  shipping.label                 order:8              UnroutableError: no queue is bound for 'shipping.label' on exchange 'svckit'
# --8<-- [end:list]
"""  # noqa: E501 - the table as printed

RETRY = """
# --8<-- [start:retry]
$ svckit outbox retry shipping:Shipping --id 1
retried 1
# --8<-- [end:retry]
"""

PURGE = """
# --8<-- [start:purge]
$ svckit outbox purge shipping:Shipping --all --yes
purged 1
# --8<-- [end:purge]
"""


class PrintLabel(Command, topic="shipping.label"):
    order_id: int


class Shipping(WorkerService):
    uses_outbox = True
    outbox_retry = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02)


def transcript(text: str) -> tuple[list[str], list[str]]:
    """The command of a transcript (this module's service instead of ``shipping``), and
    the lines it prints."""
    lines = [line for line in text.strip().splitlines() if not line.startswith("# --8<--")]
    command = shlex.split(lines[0].removeprefix("$ svckit "))
    command = [f"{__name__}:Shipping" if arg == "shipping:Shipping" else arg for arg in command]
    return command, lines[1:]


def run(command: list[str]) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = svckit_main(command)
    assert code == 0, code
    return out.getvalue().splitlines()


async def failed_row(url: str) -> None:
    settings = {"database_url": url, "database_create_schema": True, "outbox_poll_interval": 0.05}
    async with ServiceHarness(Shipping, **settings) as h:
        for order_id in (7, 8):
            await h.service.outbox.publish(PrintLabel(order_id=order_id), key=f"order:{order_id}")
        await h.wait_idle()  # the relay tried each row three times, and gave up


def main() -> None:
    folder = tempfile.mkdtemp()
    url = f"sqlite+aiosqlite:///{folder}/shipping.sqlite3"
    asyncio.run(failed_row(url))
    os.environ["SVCKIT_DATABASE_URL"] = url
    for text in (LIST, RETRY, PURGE):
        command, expected = transcript(text)
        printed = run(command)
        assert printed == expected, (printed, expected)
    print("svckit outbox list, retry and purge print what the docs show")


if __name__ == "__main__":
    main()
