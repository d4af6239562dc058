"""Time to redact a megabyte of hostile text, against one plain pass over the same text.

Redaction runs on text from the wire (error text quoting a header, a request id), so
its patterns must be linear: this feeds each shape below, 1 MB long, to `redact_text`
and compares with the floor of any search for secrets, ``text.lower()`` and one
``re.search`` for a secret word. Each shape is built to make a backtracking pattern
read the same run again at every position (the pattern before the fix took seconds on
8 KB of ``password``). The line printed gives, per shape, the median time of the rounds
in milliseconds and the median of the per-round ratios; ``worst_ms`` and ``worst_ratio``
are the largest of them.

    python bench/redact.py [--size 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from typing import TYPE_CHECKING

from svckit.core._redact import redact_text

if TYPE_CHECKING:
    from collections.abc import Callable

_PLAIN = re.compile("password")


def shapes(size: int) -> dict[str, str]:
    """The hostile inputs, each about ``size`` characters long."""
    return {
        "password_run": "password" * (size // 8) + ":",
        "letters_then_key": "a" * size + " key=",
        "pairs_then_token": "x=" * (size // 2) + "token",
        "letters_then_scheme": "a" * size + "://",
        "schemes": "://" * (size // 3),
        "digits_colon": "1" * size + ":",
        "dashed_key": "key-" * (size // 4) + "=",
        "colons_in_authority": "a://" + ":" * size,
        "authorization_spaces": "authorization" + " " * size,
        "bearer_spaces": "bearer" + " " * size + "'",
        "many_secrets": "password=Zq-planted-8c1f " * (size // 25),
    }


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _plain_pass(text: str) -> object:
    return _PLAIN.search(text.lower())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for name, text in shapes(args.size).items():
        ours, plain = [], []
        for _ in range(args.rounds):
            ours.append(_seconds(lambda text=text: redact_text(text)))  # type: ignore[misc]
            plain.append(_seconds(lambda text=text: _plain_pass(text)))  # type: ignore[misc]
        ratios = [o / p for o, p in zip(ours, plain, strict=True)]
        results[name] = {
            "ms": round(statistics.median(ours) * 1000, 1),
            "baseline_ms": round(statistics.median(plain) * 1000, 2),
            "ratio": round(statistics.median(ratios), 1),
        }
    line = {
        "bench": "redact",
        "size": args.size,
        "worst_ms": max(r["ms"] for r in results.values()),
        "worst_ratio": max(r["ratio"] for r in results.values()),
        "shapes": results,
    }
    json.dump(line, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
