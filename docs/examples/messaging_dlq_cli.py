"""What ``svckit dlq`` prints, checked against the command itself.

The transcripts below are what the docs show. ``svckit dlq`` works on RabbitMQ only (the
embedded broker lives inside its own process), so ``main`` makes the same dead letters on
the embedded broker and runs the command's own code on them in this process, then checks
that it prints what the transcripts say. Times and tracebacks differ from run to run;
everything else must match.

Run it as is (``python docs/examples/messaging_dlq_cli.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shlex
from typing import Any

from svckit import RetryPolicy
from svckit.cli import build_parser
from svckit.cli import main as svckit_main

# The command's own code, which `svckit dlq` runs after refusing memory:// URLs.
from svckit.cli._dlq import _with_letters
from svckit.messaging import Bus, Event, MemoryTransport, consumer

LIST = """
# --8<-- [start:list]
$ svckit dlq list billing.bill
MESSAGE ID                         TOPIC                    ATTEMPT  ERROR
4526bbf823b649959837bdbb5385a010   billing.invoice                3  LookupError: invoice 2: no customer 8
c9dad59141b743228ddd98abf9a70c5c   billing.invoice                3  LookupError: invoice 3: no customer 9
# --8<-- [end:list]
"""  # noqa: E501 - the table as printed

LIST_JSON = """
# --8<-- [start:list-json]
$ svckit dlq list billing.bill --json
{"message_id": "4526bbf823b649959837bdbb5385a010", "topic": "billing.invoice", "attempt": 3, "error_type": "LookupError", "error_message": "invoice 2: no customer 8", "dead_lettered_at": "2025-05-14T09:12:31.207148+00:00"}
{"message_id": "c9dad59141b743228ddd98abf9a70c5c", "topic": "billing.invoice", "attempt": 3, "error_type": "LookupError", "error_message": "invoice 3: no customer 9", "dead_lettered_at": "2025-05-14T09:12:31.209932+00:00"}
# --8<-- [end:list-json]
"""  # noqa: E501 - one JSON object per line, as printed

SHOW = r"""
# --8<-- [start:show]
$ svckit dlq show billing.bill 4526bbf823b649959837bdbb5385a010
{
  "message_id": "4526bbf823b649959837bdbb5385a010",
  "topic": "billing.invoice",
  "attempt": 3,
  "error_type": "LookupError",
  "error_message": "invoice 2: no customer 8",
  "dead_lettered_at": "2025-05-14T09:12:31.207148+00:00",
  "traceback": "Traceback (most recent call last):\n  File \"/app/.venv/lib/python3.12/site-packages/svckit/messaging/_consume.py\", line 214, in _process\n    await self._call(message, delivery, attempt)\n  File \"/app/.venv/lib/python3.12/site-packages/svckit/messaging/_consume.py\", line 238, in _call\n    await handler.func(message)\n  File \"/app/billing/consumers.py\", line 31, in bill\n    raise LookupError(f\"invoice {invoice.number}: no customer {invoice.customer_id}\")\nLookupError: invoice 2: no customer 8\n",
  "headers": {
    "x-svckit-schema": 1,
    "x-svckit-attempt": 3,
    "x-svckit-routing-key": "billing.invoice",
    "x-svckit-error-type": "LookupError",
    "x-svckit-error-message": "invoice 2: no customer 8",
    "x-svckit-dead-lettered-at": "2025-05-14T09:12:31.207148+00:00",
    "x-svckit-queue": "billing.bill"
  },
  "body": {
    "number": 2,
    "customer_id": 8
  }
}
# --8<-- [end:show]
"""  # noqa: E501 - the JSON as printed

REPLAY = """
# --8<-- [start:replay]
$ svckit dlq replay billing.bill --id 4526bbf823b649959837bdbb5385a010
replayed 1 dead letter(s) to billing.bill
# --8<-- [end:replay]
"""

REPLAY_ALL = """
# --8<-- [start:replay-all]
$ svckit dlq replay billing.bill --all
replayed 1 dead letter(s) to billing.bill
# --8<-- [end:replay-all]
"""

PURGE_REFUSED = """
# --8<-- [start:purge-refused]
$ svckit dlq purge billing.bill
svckit dlq purge: add --yes to delete the dead letters
# --8<-- [end:purge-refused]
"""

PURGE = """
# --8<-- [start:purge]
$ svckit dlq purge billing.bill --yes
purged 1 dead letter(s) from billing.bill.dlq
# --8<-- [end:purge]
"""

MISSING = """
# --8<-- [start:missing]
$ svckit dlq show billing.bill 0000000000000000000000000000dead
no dead letter 0000000000000000000000000000dead in billing.bill.dlq
# --8<-- [end:missing]
"""


class Invoice(Event, topic="billing.invoice"):
    number: int
    customer_id: int


customers = {7: "Ada"}


# No jitter: the two invoices fail in the order they were published, as the table shows.
@consumer(retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0))
async def bill(invoice: Invoice) -> None:
    if invoice.customer_id not in customers:
        raise LookupError(f"invoice {invoice.number}: no customer {invoice.customer_id}")


def split(transcript: str) -> tuple[list[str], str]:
    """The command's arguments (after ``svckit``) and the output a transcript shows."""
    lines = [line for line in transcript.strip().splitlines() if "--8<--" not in line]
    command = shlex.split(lines[0].removeprefix("$ "))
    assert command[0] == "svckit"
    return command[1:], "".join(f"{line}\n" for line in lines[1:])


async def run(url: str, argv: list[str]) -> tuple[int, str]:
    """Run ``svckit <argv>`` against the embedded broker ``url``; return code and output."""
    args = build_parser().parse_args(argv)
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = await _with_letters(url, args)
    return code, output.getvalue()


TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def steady(letter: dict[str, Any]) -> dict[str, Any]:
    """``letter`` without what changes from run to run (checking its shape instead)."""
    letter = dict(letter)
    assert TIME.match(letter.pop("dead_lettered_at"))
    if "traceback" in letter:
        traceback = letter.pop("traceback")
        assert traceback.startswith("Traceback (most recent call last):\n")
        letter["last_line"] = traceback.splitlines()[-1]
        letter["headers"] = dict(letter["headers"])
        assert TIME.match(letter["headers"].pop("x-svckit-dead-lettered-at"))
    return letter


async def check(url: str, transcript: str, *, json_lines: bool = False) -> None:
    argv, expected = split(transcript)
    code, printed = await run(url, argv)
    assert code == (1 if "no dead letter" in expected else 0), printed
    if json_lines:
        shown = [steady(json.loads(line)) for line in expected.splitlines()]
        assert [steady(json.loads(line)) for line in printed.splitlines()] == shown
    elif printed.startswith("{"):
        assert steady(json.loads(printed)) == steady(json.loads(expected))
    else:
        assert printed == expected, f"{argv}:\n{printed}"


async def main(bus_url: str = "memory://") -> None:
    bus = Bus(bus_url, service="billing")
    billing = bus.add_consumer(bill)
    async with bus:
        await billing.start()
        for number, customer_id, message_id in [
            (1, 7, "0b9f52c2f0a14ad29e8e2c1f4f6fd1c3"),
            (2, 8, "4526bbf823b649959837bdbb5385a010"),
            (3, 9, "c9dad59141b743228ddd98abf9a70c5c"),
        ]:
            await bus.publish(
                Invoice(number=number, customer_id=customer_id), message_id=message_id
            )
        transport = bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle()

        await check(bus_url, LIST)
        await check(bus_url, LIST_JSON, json_lines=True)
        await check(bus_url, SHOW)
        await check(bus_url, MISSING)
        customers[8] = "Grace"
        await check(bus_url, REPLAY)
        await transport.broker.wait_idle()
        await check(bus_url, PURGE)

        # Replay --all on a fresh dead letter, then the purge that asks for --yes.
        await bus.publish(Invoice(number=4, customer_id=10))
        await transport.broker.wait_idle()
        customers[10] = "Barbara"
        await check(bus_url, REPLAY_ALL)
        await transport.broker.wait_idle()
        await billing.stop()

    # Refused before anything connects, so any RabbitMQ URL shows it.
    argv, expected = split(PURGE_REFUSED)
    refused = io.StringIO()
    with contextlib.redirect_stderr(refused):
        assert svckit_main([*argv[:1], "--url", "amqp://localhost/", *argv[1:]]) == 2  # noqa: PLR2004 - usage error
    assert refused.getvalue() == expected
    print("svckit dlq prints what the docs show")


if __name__ == "__main__":
    asyncio.run(main())
