"""The client commands' place in ``cml-fleet``'s parser: ``workers …`` and ``events
tail``, each against a running server (notes/CLI.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from infrastructure.console import events, workers
from infrastructure.console.api import EXIT_CODES, USAGE, Api, Failed
from infrastructure.console.connection import NotConfigured, connection

Command = Callable[[Api, Any], int]


def release() -> str:
    try:
        return version("cml-fleet")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown"


def client_epilog() -> str:
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    return (
        "The client commands (workers, events) find the server in --server, CML_FLEET_URL\n"
        "or ~/.config/cml-fleet/cli.toml, and the token in CML_FLEET_TOKEN or that file.\n"
        f"Their exit codes:\n{codes}"
    )


def _runner(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            with Api(connection(args.server), version=release()) as api:
                return command(api, args)
        except NotConfigured as missing:
            print(f"cml-fleet: {missing}", file=sys.stderr)
            return USAGE
        except Failed as failed:
            print(f"cml-fleet: {failed}", file=sys.stderr)
            return failed.code

    return run


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", metavar="URL", help="the server (default: CML_FLEET_URL)")
    parser.add_argument("--json", action="store_true", help="print JSON, as the API answers")


def add_client_commands(commands: Any) -> None:
    fleet = commands.add_parser("workers", help="list, show and act on a server's workers")
    actions = fleet.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the workers, one per line")
    listing.add_argument("--status", action="append", help="only this status (repeatable)")
    listing.add_argument("--region", help="only this AWS region")
    listing.add_argument("--search", "-q", help="text in the name, instance id or tags")
    listing.add_argument("--limit", type=int, help="at most this many")
    _common(listing)
    listing.set_defaults(run=_runner(workers.list_workers))
    show = actions.add_parser("show", help="one worker, field by field")
    show.add_argument("worker", help="its id or its name")
    _common(show)
    show.set_defaults(run=_runner(workers.show))
    for action in workers.ACTIONS:
        acting = actions.add_parser(action, help=f"{action} a worker (operator role)")
        acting.add_argument("worker", help="its id or its name")
        _common(acting)
        acting.set_defaults(run=_runner(workers.act), action=action)

    stream = commands.add_parser("events", help="the server's live events")
    stream_actions = stream.add_subparsers(required=True, metavar="ACTION")
    tail = stream_actions.add_parser(
        "tail", help="print events as they happen (Ctrl-C ends); resumes after a drop"
    )
    tail.add_argument("--worker", action="append", help="only this worker's (id; repeatable)")
    tail.add_argument("--type", help="only types starting so, e.g. worker.paused")
    tail.add_argument("--since", metavar="ID", help="replay from after this event id first")
    tail.add_argument("--count", type=int, help="stop after this many events")
    tail.add_argument("--snapshots", action="store_true", help="also print worker snapshots")
    _common(tail)
    tail.set_defaults(run=_runner(events.tail))
