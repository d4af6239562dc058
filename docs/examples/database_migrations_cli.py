"""What ``svckit db`` prints, checked against the command itself.

``main`` copies the service of ``database_service.py`` into an empty folder, runs each
command of the transcript below there, and checks that it prints what the transcript
says (the folder is shown as ``/app``, and the revision id, random, as the one below).

Run it as is (``python docs/examples/database_migrations_cli.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from svckit.cli import main as svckit_main

WORKFLOW = """
# --8<-- [start:workflow]
$ export SVCKIT_SERVICE_NAME=orders
$ svckit db init orders:Orders
wrote /app/migrations
$ svckit db revision orders:Orders -m "orders table" --autogenerate
Generating /app/migrations/versions/3f1c2a9e7b10_orders_table.py ...  done
$ svckit db upgrade orders:Orders
upgraded sqlite+aiosqlite:////app/.svckit/orders.sqlite3 to head
$ svckit db current orders:Orders
3f1c2a9e7b10 (head)
$ svckit db downgrade orders:Orders base
downgraded sqlite+aiosqlite:////app/.svckit/orders.sqlite3 to base
# --8<-- [end:workflow]
"""

ENV_PY = '''
# --8<-- [start:env]
"""Alembic's entry point for this service's migrations; `svckit db` runs it."""

from svckit.db.migrations import run_migrations

run_migrations()
# --8<-- [end:env]
'''

REVISION = "3f1c2a9e7b10"


def steps(transcript: str) -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of a transcript with the lines it prints."""
    found: list[tuple[str, list[str]]] = []
    for line in transcript.strip().splitlines():
        if line.startswith("# --8<--"):
            continue
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            found[-1][1].append(line)
    return found


def run(command: str, folder: Path) -> list[str]:
    words = shlex.split(command)
    if words[0] == "export":
        name, _, value = words[1].partition("=")
        os.environ[name] = value
        return []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert svckit_main(words[1:]) == 0, command
    text = out.getvalue().replace(str(folder), "/app")
    return re.sub(r"(?<![0-9a-z])[0-9a-f]{12}(?![0-9a-z])", REVISION, text).splitlines()


def main() -> None:
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name).resolve()
        shutil.copyfile(here / "database_service.py", folder / "orders.py")
        os.chdir(folder)
        sys.path.insert(0, str(folder))
        for command, expected in steps(WORKFLOW):
            got = run(command, folder)
            assert got == expected, (command, got)
            if command.startswith("svckit db init"):
                written = (folder / "migrations" / "env.py").read_text()
                assert written.strip() == "\n".join(ENV_PY.strip().splitlines()[1:-1]).strip()
    print("svckit db: every command printed what the transcript shows")


if __name__ == "__main__":
    main()
