"""``svckit outbox``: list, retry and purge a service's outbox rows (the failed ones above all).

::

    svckit outbox list module:Class [--status failed|pending|done|all] [--json]
    svckit outbox retry module:Class (--id ID ... | --all)
    svckit outbox purge module:Class (--id ID ... | --all) --yes

The database is the one the service's settings name, as for ``svckit db``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from svckit.cli._run import EXIT_CONFIG, EXIT_FAILED, EXIT_USAGE, TargetError, load_target
from svckit.core.errors import ConfigurationError, SvckitError

if TYPE_CHECKING:
    import argparse

    from svckit.db.database import Database

_ERROR_SHOWN = 120


def add_parser(commands: Any) -> None:
    """Add ``outbox`` and its actions to the ``svckit`` parser."""
    outbox = commands.add_parser(
        "outbox",
        help="operate a service's outbox rows",
        description="List, retry and purge the rows of a service's transactional outbox. "
        "TARGET is module:Class, a service with uses_outbox = True.",
    )
    actions = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        parser.add_argument("target", metavar="TARGET")
        parser.set_defaults(handler=_run)
        return parser

    listing = action("list", "list rows, oldest first (the failed ones by default)")
    listing.add_argument("--status", choices=["failed", "pending", "done", "all"], default="failed")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for name, text in (
        ("retry", "put failed rows back to pending, with a fresh attempt count"),
        ("purge", "delete failed rows: their messages are never published"),
    ):
        parser = action(name, text)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", dest="ids", type=int, action="append", help="a row id")
        which.add_argument("--all", action="store_true", help="every failed row")
        if name == "purge":
            parser.add_argument("--yes", action="store_true", help="confirm the deletion")


def _run(args: argparse.Namespace) -> int:
    try:
        service = load_target(args.target)
    except TargetError as exc:
        print(f"svckit outbox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not getattr(service, "uses_outbox", False):
        print(
            f"svckit outbox: {args.target} has no outbox; set `uses_outbox = True` on it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.action == "purge" and not args.yes:
        print("svckit outbox purge: add --yes to delete the rows", file=sys.stderr)
        return EXIT_USAGE
    try:
        from svckit.db.database import Database  # noqa: PLC0415 - needs the db extra

        database = Database.from_settings(service.resolve_settings_class()())
    except (ConfigurationError, ValidationError) as exc:
        print(f"svckit outbox: invalid settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(_act(database, args))
    except SvckitError as exc:
        print(f"svckit outbox {args.action}: {exc}", file=sys.stderr)
        return EXIT_FAILED


async def _act(database: Database, args: argparse.Namespace) -> int:
    from svckit.db import _outbox_admin as admin  # noqa: PLC0415

    async with database:
        if args.action == "list":
            status = None if args.status == "all" else args.status
            rows = await admin.list_rows(database, status=status, limit=args.limit)
            _print(rows, as_json=args.json)
            return 0
        ids = None if args.all else args.ids
        if args.action == "retry":
            print(f"retried {await admin.retry_failed(database, ids)}")
        else:
            print(f"purged {await admin.purge_failed(database, ids)}")
        return 0


def _print(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    if not rows:
        print("no rows")
        return
    print(f"{'ID':>8}  {'STATUS':8} {'TRIES':>5}  {'TOPIC':30} {'KEY':20} ERROR")
    for row in rows:
        error = (row["last_error"] or "")[:_ERROR_SHOWN]
        print(
            f"{row['id']:>8}  {row['status']:8} {row['attempts']:>5}  "
            f"{row['routing_key'][:30]:30} {(row['key'] or '-')[:20]:20} {error}"
        )
