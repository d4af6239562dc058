"""What became of the messages of a fuzz run, and what of it is a failure.

`Outcome` holds what `_fuzz_run.run_fuzz` saw: which messages the worker handled (and
whether at a redelivery), the dead letters (`Letter`), what was left in the queues, the
seconds of unreadiness, the worker's log and its worst event-loop stall. `Outcome.failures`
sorts what went wrong by kind, each entry naming the message (``<kind>.<seq>``) and the
tags of what was odd about it, so a failure points at its cause.
"""

from __future__ import annotations

import collections
import contextlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._fuzz_cases import Sample

#: The longest log line accepted: values svckit logs must be bounded.
LOG_LINE_LIMIT = 16_384


@dataclass
class Letter:
    """A dead letter, as far as the test cares."""

    seq: int | None
    error_type: str | None  # svckit's x-svckit-error-type; None: the broker dead-lettered it
    delivery_count: int
    error_text: str  # svckit's error headers, for the secret check

    @classmethod
    def read(cls, headers: dict[Any, Any]) -> Letter:
        """Read the headers of a message taken from a dead-letter queue."""
        topic = headers.get("x-svckit-routing-key")
        deaths = headers.get("x-death")
        if not isinstance(topic, str) and isinstance(deaths, list) and deaths:
            keys = deaths[0].get("routing-keys") if isinstance(deaths[0], dict) else None
            topic = keys[0] if isinstance(keys, list) and keys else None
        seq = str(topic).rpartition(".")[2] if isinstance(topic, str) else ""
        error = headers.get("x-svckit-error-type")
        count = headers.get("x-delivery-count")
        text = " ".join(
            str(v)
            for k, v in headers.items()
            if isinstance(k, str) and k.startswith("x-svckit-error")
        )
        return cls(
            int(seq) if seq.isdigit() else None,
            str(error) if error is not None else None,
            count if isinstance(count, int) else 0,
            text,
        )


@dataclass
class Outcome:
    """Everything seen in one run."""

    samples: list[Sample]
    refused: dict[int, str] = field(default_factory=dict)
    handled: collections.Counter[int] = field(default_factory=collections.Counter)
    handled_again: set[int] = field(default_factory=set)
    letters: dict[int | None, list[Letter]] = field(default_factory=dict)
    left: dict[str, tuple[int, int]] = field(default_factory=dict)
    unready_s: float = 0.0
    log: bytes = b""
    max_lag_s: float | None = None
    exit_code: int | None = None
    seconds: float = 0.0

    @property
    def accepted(self) -> list[Sample]:
        """The samples the broker took (it refuses a few, such as a bad user id)."""
        return [s for s in self.samples if s.seq not in self.refused]

    def failures(self, secret: str) -> dict[str, list[str]]:
        """What went wrong, by kind; each entry names the message and its tags."""
        found: dict[str, list[str]] = collections.defaultdict(list)
        for sample in self.accepted:
            summary = [(x.error_type, x.delivery_count) for x in self.letters.get(sample.seq, [])]
            seen = f" dead letters (error, delivery count): {summary}" if summary else ""
            for kind in self._message_failures(sample, secret):
                found[kind].append(f"{sample.routing_key} {sample.tags}{seen}")
        for seq, letters in self.letters.items():
            if seq is None or seq in self.refused:
                found["dead letter of no published message"].extend(str(x) for x in letters)
        found["left in a queue (ready, unacknowledged)"] = [
            f"{name} {counts}" for name, counts in self.left.items() if any(counts)
        ]
        if self.unready_s > 0:
            found["readiness false"].append(f"{self.unready_s:.1f} s")
        if self.exit_code not in {0, None}:
            found["worker exit"].append(f"exit code {self.exit_code}")
        _log_failures(self.log.decode(errors="replace"), secret, found)
        return {kind: entries for kind, entries in found.items() if entries}

    def _message_failures(self, sample: Sample, secret: str) -> list[str]:
        letters = self.letters.get(sample.seq, [])
        handled = self.handled[sample.seq]
        checks = {
            "lost: neither handled nor dead-lettered": not handled and not letters,
            "dead-lettered by the broker (delivery limit), not by svckit": any(
                letter.error_type is None for letter in letters
            ),
            "dead-lettered by svckit, but not at its first delivery": any(
                letter.delivery_count > 0 for letter in letters if letter.error_type
            ),
            "handled on a redelivery": sample.seq in self.handled_again,
            "handled more than once, or handled and dead-lettered": handled > 1
            or bool(handled and letters),
            "dead-lettered more than once": len(letters) > 1,
            "valid message dead-lettered": sample.expect == "handled" and not handled,
            "failing handler's message handled": sample.expect == "dead-lettered" and handled > 0,
            "secret in a dead letter's error headers": any(
                secret in letter.error_text for letter in letters
            ),
        }
        return [kind for kind, failed in checks.items() if failed]

    def figures(self) -> dict[str, object]:
        """The counts the benchmark prints."""
        accepted = self.accepted
        dead = {s.seq for s in accepted if any(x.error_type for x in self.letters.get(s.seq, []))}
        looped = {
            s.seq
            for s in accepted
            if s.seq in self.handled_again
            or any(
                x.delivery_count > 0 or x.error_type is None for x in self.letters.get(s.seq, [])
            )
        }
        return {
            "messages": len(self.samples),
            "refused_by_broker": len(self.refused),
            "handled": sum(1 for s in accepted if self.handled[s.seq]),
            "dead_lettered": len(dead),
            "lost": sum(
                1 for s in accepted if not self.handled[s.seq] and s.seq not in self.letters
            ),
            "looped": len(looped),
            "readiness_false_s": round(self.unready_s, 2),
            "log_bytes": len(self.log),
            "max_loop_lag_s": self.max_lag_s,
            "seconds": round(self.seconds, 1),
        }


def _log_failures(log: str, secret: str, found: dict[str, list[str]]) -> None:
    if secret in log:
        found["secret in the log"].append(f"{log.count(secret)} times")
    long_lines = [line for line in log.splitlines() if len(line) > LOG_LINE_LIMIT]
    if long_lines:
        found[f"log lines over {LOG_LINE_LIMIT} characters"].append(
            f"{len(long_lines)} lines, the longest {max(map(len, long_lines))}"
        )
    # With log_format json, every line of the worker's stderr is a JSON log line.
    loose = [line for line in log.splitlines() if line and not line.startswith("{")]
    if loose:
        found["output that is not a JSON log line"].extend(line[:200] for line in loose[:20])
    if "Task was destroyed but it is pending" in log:
        found["tasks destroyed while pending"].append(
            f"{log.count('Task was destroyed but it is pending')} times"
        )
    errors = collections.Counter(
        str(entry.get("event", ""))[:80]
        for entry in entries(log)
        # A handler's failure is the user's error, logged as such; any other is svckit's.
        if entry.get("level") == "error"
        and not str(entry.get("event", "")).startswith("handler failed")
    )
    found["errors logged"].extend(f"{count} x {event}" for event, count in errors.items())


def entries(log: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``log`` (other lines are left out)."""
    found = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                found.append(entry)
    return found
