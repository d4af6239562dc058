"""The fuzz test, longer: hostile messages from a foreign client to a `svckit run` worker.

The same run as ``tests/messaging/test_fuzz_foreign_client.py`` (a raw-socket AMQP client,
hypothesis-drawn bodies, properties and headers, each followed by a valid neighbour, a
policy giving the queues a delivery limit of 20), with more messages. It prints one JSON
line: how many messages were handled, dead-lettered, lost and looped (handled on a
redelivery, or dead-lettered after one), the seconds ``/readyz`` was not ready, the bytes
of the worker's log, the worst event-loop stall the worker measured in itself (a 10 ms
timer's lateness), and the number of failures of each kind the test checks.

    python bench/fuzz_worker.py [--hostile 500] [--settle 120] [--exclude TAG ...]

``--exclude`` leaves out the hostile messages with a tag containing TAG (``invalid-utf8``,
``huge``...), to see what the others do when those would hide it. Needs RabbitMQ on
127.0.0.1:5672 and ``rabbitmqctl``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.messaging._fuzz_cases import generate
from tests.messaging._fuzz_run import run_fuzz


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostile", type=int, default=500, help="hostile messages (x2 in all)")
    parser.add_argument("--settle", type=float, default=120, help="seconds to wait for the end")
    parser.add_argument("--exclude", action="append", default=[], help="leave out tags with this")
    parser.add_argument("--details", action="store_true", help="also print each failure")
    parser.add_argument("--keep", type=Path, help="keep the worker's log and records here")
    args = parser.parse_args()
    secret = f"planted{secrets.token_hex(12)}"
    samples = generate(args.hostile, secret)
    if args.exclude:
        samples = [
            s
            for s in samples
            if s.expect == "handled" or not any(x in t for t in s.tags for x in args.exclude)
        ]
    with tempfile.TemporaryDirectory(prefix="svckit-fuzz-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        outcome = await run_fuzz(samples, workdir, settle_timeout=args.settle)
    failures = outcome.failures(secret)
    line = {
        "bench": "fuzz_worker",
        **outcome.figures(),
        "failures": {kind: len(entries) for kind, entries in failures.items()},
    }
    if args.exclude:
        line["excluded"] = args.exclude
    json.dump(line, sys.stdout)
    sys.stdout.write("\n")
    if args.details:
        for kind, entries in failures.items():
            print(f"{kind}: {len(entries)}", file=sys.stderr)
            for entry in entries[:15]:
                print(f"    {entry[:400]}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
