"""``svckit dlq``: list, show, replay and purge a consumer's dead letters on RabbitMQ."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from svckit.core.errors import SvckitError
from svckit.core.settings import ServiceSettings
from svckit.messaging._foreign import printable

if TYPE_CHECKING:
    from svckit.messaging.dead_letters import DeadLetter, DeadLetters


def add_parser(commands: Any) -> None:
    """Add ``dlq`` and its subcommands to the ``svckit`` parser."""
    dlq = commands.add_parser(
        "dlq",
        help="operate dead letters",
        description="Operate a consumer's dead letters. QUEUE is the consumer queue "
        "(<service>.<consumer>); its dead letters are in QUEUE.dlq.",
    )
    # The broker options go before or after the action: `dlq --url U list Q` or
    # `dlq list Q --url U`.
    url = argparse.ArgumentParser(add_help=False)
    source = url.add_mutually_exclusive_group()
    source.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="the broker URL (default: SVCKIT_BUS_URL from the environment or .env)",
    )
    source.add_argument(
        "--service",
        metavar="MODULE:CLASS",
        default=argparse.SUPPRESS,
        help="read the broker URL from this service's settings (its own prefix and .env)",
    )
    dlq.add_argument("--url", default=None, help=argparse.SUPPRESS)
    dlq.add_argument("--service", default=None, help=argparse.SUPPRESS)
    actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text, parents=[url])
        return parser

    listing = action("list", "list dead letters, oldest first")
    listing.add_argument("queue")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_run, operation=_list)

    show = action("show", "show one dead letter")
    show.add_argument("queue")
    show.add_argument("message_id")
    show.set_defaults(handler=_run, operation=_show)

    replay = action("replay", "send dead letters back to their queue")
    replay.add_argument("queue")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="ids", action="append", help="a message id (repeatable)")
    which.add_argument("--all", action="store_true", help="every dead letter")
    replay.set_defaults(handler=_run, operation=_replay)

    purge = action("purge", "delete every dead letter of a queue")
    purge.add_argument("queue")
    purge.add_argument("--yes", action="store_true", help="confirm the deletion")
    purge.set_defaults(handler=_run, operation=_purge)


def _broker_url(args: argparse.Namespace) -> tuple[str, str]:
    """The broker URL, and the option or variable it comes from (for error messages)."""
    if args.url:
        return str(args.url), "--url"
    if args.service:
        from svckit.cli._run import load_target  # noqa: PLC0415 - only for --service

        settings = load_target(args.service).resolve_settings_class()()
    else:
        settings = ServiceSettings()
    return settings.bus_url.get_secret_value(), settings.env_name("bus_url")


def _run(args: argparse.Namespace) -> int:
    try:
        url, source = _broker_url(args)
    except Exception as exc:  # noqa: BLE001 - a bad target or settings: say which, exit 2
        print(f"svckit dlq: {exc}", file=sys.stderr)
        return 2
    if url.startswith("memory://"):
        where = "give --url" if source == "--url" else f"set {source} (or --url)"
        print(
            f"svckit dlq: the embedded broker lives inside its own process; {where} "
            "a RabbitMQ URL, or read dead letters through svckit.testing",
            file=sys.stderr,
        )
        return 2
    if args.action == "purge" and not args.yes:
        print("svckit dlq purge: add --yes to delete the dead letters", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_with_letters(url, args))
    except SvckitError as exc:
        print(f"svckit dlq: {exc}", file=sys.stderr)
        return 1


async def _with_letters(url: str, args: argparse.Namespace) -> int:
    from svckit.messaging.bus import transport_for_url  # noqa: PLC0415
    from svckit.messaging.dead_letters import DeadLetters  # noqa: PLC0415 - needs an extra

    transport = transport_for_url(url, service="svckit-cli")
    await transport.connect()
    try:
        result: int = await args.operation(DeadLetters(transport, args.queue), args)
    finally:
        await transport.close()
    return result


async def _list(letters: DeadLetters, args: argparse.Namespace) -> int:
    found = await letters.list(args.limit)
    if args.json:
        for letter in found:
            print(json.dumps(_as_dict(letter), default=str))
        return 0
    if not found:
        print(f"no dead letters in {letters.dead_letter_queue}")
        return 0
    print(f"{'MESSAGE ID':34} {'TOPIC':24} {'ATTEMPT':>7}  ERROR")
    for letter in found:
        # Foreign text on a terminal: one line, control characters escaped.
        error = printable(f"{letter.error_type}: {letter.error_message}".split("\n")[0], 80)
        message_id = printable(letter.message_id or "-", 64)
        topic = printable(letter.topic, 64)
        print(f"{message_id:34} {topic:24} {letter.attempt:>7}  {error}")
    total = await letters.count()
    if total > len(found):
        print(f"... and {total - len(found)} more (raise --limit)")
    return 0


async def _show(letters: DeadLetters, args: argparse.Namespace) -> int:
    letter = await letters.show(args.message_id)
    if letter is None:
        print(f"no dead letter {args.message_id} in {letters.dead_letter_queue}", file=sys.stderr)
        return 1
    print(json.dumps(_as_dict(letter, full=True), indent=2, default=str))
    return 0


async def _replay(letters: DeadLetters, args: argparse.Namespace) -> int:
    ids = None if args.all else set(args.ids)
    count = await letters.replay(ids)
    print(f"replayed {count} dead letter(s) to {letters.queue}")
    if ids is not None and count < len(ids):
        print(f"{len(ids) - count} id(s) not found", file=sys.stderr)
        return 1
    return 0


async def _purge(letters: DeadLetters, _: argparse.Namespace) -> int:
    count = await letters.purge()
    print(f"purged {count} dead letter(s) from {letters.dead_letter_queue}")
    return 0


def _as_dict(letter: DeadLetter, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": letter.message_id,
        "topic": letter.topic,
        "attempt": letter.attempt,
        "error_type": letter.error_type,
        "error_message": letter.error_message,
        "dead_lettered_at": letter.dead_lettered_at,
    }
    if full:
        data["traceback"] = letter.traceback
        # The traceback is shown above; x-death is the broker's count of delay round trips.
        data["headers"] = {
            str(k): _shown(v)
            for k, v in letter.headers.items()
            if k not in {"x-svckit-error-traceback", "x-death"}
        }
        try:
            data["body"] = json.loads(letter.body)
        except Exception:  # noqa: BLE001 - not JSON (or nested too deeply): show it as text
            data["body"] = letter.body.decode("utf-8", "backslashreplace")
    return data


def _shown(value: Any, depth: int = 0) -> Any:
    """A foreign header value as JSON can print it: bytes as text, the rest as text too."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace")
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth < 16 and isinstance(value, dict):  # noqa: PLR2004 - deep enough for any header
        return {str(k): _shown(v, depth + 1) for k, v in value.items()}
    if depth < 16 and isinstance(value, list):  # noqa: PLR2004
        return [_shown(v, depth + 1) for v in value]
    return str(value)
