"""``svckit demo``: the README's main command runs real services on the embedded defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "svckit", "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_the_demo_takes_the_sample_photo_through_the_media_worker() -> None:
    result = _demo(cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "sample.jpg: done; JPEG 480x640 RGB, EXIF orientation 6 applied" in out
    assert "the damaged upload: failed (truncated)" in out
    assert "notification to user 1: 'Welcome, Ada!'" in out
    assert "'media.processed': 1" in out


def test_outside_a_checkout_the_demo_runs_the_greeter(tmp_path: Path) -> None:
    result = _demo(cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "running the greeter" in out
    assert "hello, Ada!" in out
    assert "hello, Grace!" in out
    assert "dead letter: user.signed_up after 3 attempts: ValueError" in out
    assert "greeted ['Ada', 'Grace']" in out
    # The lifecycle reports itself in the logs (stderr), shutdown line included.
    assert "service stopped" in result.stderr
