"""``svckit db``: a service's alembic migrations, run against the service's own database.

::

    svckit db init module:Class                    write the migrations folder
    svckit db revision module:Class -m MSG [--autogenerate]
    svckit db upgrade module:Class [REV] [--sql]   to head by default
    svckit db downgrade module:Class REV [--sql]   for example -1 or base
    svckit db current module:Class
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from svckit.cli._run import EXIT_CONFIG, EXIT_FAILED, EXIT_USAGE, TargetError, load_target
from svckit.core.errors import ConfigurationError, SvckitError

if TYPE_CHECKING:
    import argparse

ENV_PY = '''"""Alembic's entry point for this service's migrations; `svckit db` runs it."""

from svckit.db.migrations import run_migrations

run_migrations()
'''


def add_parser(commands: Any) -> None:
    """Add ``db`` and its actions to the ``svckit`` parser."""
    db = commands.add_parser(
        "db",
        help="run a service's database migrations",
        description="Run a service's alembic migrations against the database its settings "
        "name. TARGET is module:Class, a service with uses_database = True.",
    )
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        parser.add_argument("target", metavar="TARGET")
        parser.set_defaults(handler=_run)
        return parser

    action("init", "write the service's migrations folder (env.py, template, versions/)")
    revision = action("revision", "write a new migration script")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument(
        "--autogenerate", action="store_true", help="compare the database with the metadata"
    )
    upgrade = action("upgrade", "migrate up (to head by default)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    downgrade = action("downgrade", "migrate down to a revision (-1, base, an id)")
    downgrade.add_argument("revision")
    downgrade.add_argument("--sql", action="store_true", help="print the SQL instead")
    action("current", "show the database's revision")


def _run(args: argparse.Namespace) -> int:
    try:
        service = load_target(args.target)
    except TargetError as exc:
        print(f"svckit db: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not getattr(service, "uses_database", False):
        print(
            f"svckit db: {args.target} uses no database; set `uses_database = True` on it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        from svckit.db.migrations import alembic_config, service_url  # noqa: PLC0415 - db extra

        url = service_url(service)
    except (ConfigurationError, ValidationError) as exc:
        print(f"svckit db: invalid settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    config = alembic_config(service, url)
    try:
        return _ACTIONS[args.action](config, args)
    except SvckitError as exc:
        print(f"svckit db: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - alembic's and SQLAlchemy's errors: say, exit 1
        from svckit.db._errors import describe  # noqa: PLC0415

        if type(exc).__name__ == "CommandError":
            detail = str(exc)
        else:
            detail = f"{describe(exc)} (database {_where(config)})"
        print(f"svckit db {args.action}: {detail}", file=sys.stderr)
        return EXIT_FAILED


def _init(config: Any, _: argparse.Namespace) -> int:
    import alembic  # noqa: PLC0415

    folder = Path(config.get_main_option("script_location"))
    if (folder / "env.py").exists():
        print(f"svckit db init: {folder} already has an env.py", file=sys.stderr)
        return EXIT_USAGE
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    (folder / "env.py").write_text(ENV_PY)
    template = Path(alembic.__file__).parent / "templates" / "generic" / "script.py.mako"
    shutil.copyfile(template, folder / "script.py.mako")
    print(f"wrote {folder}")
    return 0


def _revision(config: Any, args: argparse.Namespace) -> int:
    from alembic import command  # noqa: PLC0415

    # alembic says which file it wrote ("Generating .../versions/<rev>_<slug>.py ... done").
    command.revision(config, message=args.message, autogenerate=args.autogenerate)
    return 0


def _upgrade(config: Any, args: argparse.Namespace) -> int:
    from alembic import command  # noqa: PLC0415

    command.upgrade(config, args.revision, sql=args.sql)
    if not args.sql:
        print(f"upgraded {_where(config)} to {args.revision}")
    return 0


def _downgrade(config: Any, args: argparse.Namespace) -> int:
    from alembic import command  # noqa: PLC0415

    command.downgrade(config, args.revision, sql=args.sql)
    if not args.sql:
        print(f"downgraded {_where(config)} to {args.revision}")
    return 0


def _current(config: Any, _: argparse.Namespace) -> int:
    from alembic import command  # noqa: PLC0415

    command.current(config)
    return 0


def _where(config: Any) -> str:
    from svckit.db._url import masked  # noqa: PLC0415

    return masked(config.attributes["svckit_url"])


_ACTIONS = {
    "init": _init,
    "revision": _revision,
    "upgrade": _upgrade,
    "downgrade": _downgrade,
    "current": _current,
}
