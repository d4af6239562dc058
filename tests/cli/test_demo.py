"""``svckit demo``: the README's main command runs a real service on the embedded defaults."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_the_scenario_and_exits_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "svckit", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "hello, Ada!" in out
    assert "hello, Grace!" in out
    assert "dead letter: user.signed_up after 3 attempts: ValueError" in out
    assert "greeted ['Ada', 'Grace']" in out
    # The lifecycle reports itself in the logs (stderr), shutdown line included.
    assert "service stopped" in result.stderr
