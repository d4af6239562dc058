"""Hostile input from a foreign client costs one dead letter, never more (issue 9).

A client that is not aio-pika (`_raw_amqp`, a raw socket) sends hypothesis-drawn bodies,
properties and headers, each followed by a valid neighbour, to a worker started as
``svckit run`` on the real RabbitMQ, whose quorum queues a policy gives a delivery limit
of 20 (RabbitMQ 4's default). The run passes when:

- every message was handled once, or dead-lettered once by svckit with its error
  headers, at its first delivery, and valid neighbours were all handled. A delivery that
  was not the first shows as the ``redelivered`` flag or an ``x-delivery-count`` above 0
  (the broker's count, which a dead letter keeps among the original headers), or as a
  dead letter without svckit's headers (dropped by the broker at its delivery limit);
- nothing is left in a queue, ready or unacknowledged;
- ``/readyz`` answered ready throughout;
- the worker's log holds none of the planted secrets and no line longer than 16 KB; each
  line is a JSON log line, none says a task was destroyed while pending, and none is at
  ERROR but a handler's own failure; the error headers hold no secret either.

``bench/fuzz_worker.py`` runs the same with more messages and prints the figures.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest

from ._fuzz_cases import generate
from ._fuzz_run import run_fuzz

if TYPE_CHECKING:
    from pathlib import Path

#: Hostile messages (each followed by a valid neighbour): 300 messages in all.
HOSTILE = 150


def _report(failures: dict[str, list[str]], figures: dict[str, object]) -> str:
    lines = [f"figures: {figures}"]
    for kind, entries in failures.items():
        lines.append(f"{kind}: {len(entries)}")
        lines.extend(f"    {entry[:300]}" for entry in entries[:8])
    return "\n".join(lines)


@pytest.mark.rabbitmq
@pytest.mark.timeout(180)
async def test_a_foreign_client_s_hostile_messages_cost_one_dead_letter_each(
    tmp_path: Path,
) -> None:
    secret = f"planted{secrets.token_hex(12)}"
    samples = generate(HOSTILE, secret)
    outcome = await run_fuzz(samples, tmp_path, settle_timeout=60)

    failures = outcome.failures(secret)
    assert not failures, _report(failures, outcome.figures())
    # The broker took nearly everything: the test sent what svckit must cope with.
    assert len(outcome.accepted) >= 0.9 * len(samples), outcome.refused
