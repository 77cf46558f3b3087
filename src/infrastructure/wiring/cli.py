"""The ``cml-fleet`` command: serve, look after the store (schema, check, backup,
restore, tokens), export the public JSON Schemas, and the client commands
(``infrastructure.console``). The help text is written for people: no markup.

Everything is built through :func:`infrastructure.wiring.bootstrap.bootstrap`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from application.contracts.catalog import render_schemas
from application.contracts.compat import compare_schemas
from domain.errors import InvalidValue
from domain.tags import team_name
from infrastructure.console.commands import add_client_commands, client_epilog, release
from infrastructure.console.completion import script as completion_script
from infrastructure.http.access.auth import AuthStore, Role
from infrastructure.http.app import create_app
from infrastructure.http.protocol import protocol_with
from infrastructure.http.web.rules import write_rules_module
from infrastructure.shared.postgres import DatabaseUnreachable, SchemaMissing
from infrastructure.shared.settings import Settings
from infrastructure.store.postgres import init_schema
from infrastructure.wiring import data_dir
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.demo import seed_demo_fleet
from infrastructure.wiring.logs import configure_logging
from infrastructure.wiring.runtime import freeze_startup_objects, tune_process
from infrastructure.wiring.store_commands import (
    backup_command,
    db_check,
    restore_command,
    settings_of,
)

log = logging.getLogger("cml_fleet.cli")
LISTEN_BACKLOG = 2048  # uvicorn's default
GRACEFUL_SHUTDOWN_SECONDS = 3  # open SSE streams must not hold a shutdown forever


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (SchemaMissing, DatabaseUnreachable) as error:  # PostgreSQL not (yet) there
        print(f"cml-fleet: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


DESCRIPTION = """\
cml-fleet: a control plane for fleets of Cisco Modeling Labs workers on AWS.
Run the server (serve), look after its store (db, backup, restore, token), and act on
a running server from here (workers, events)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cml-fleet",
        description=DESCRIPTION,
        epilog=client_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cml-fleet {release()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve_cmd = commands.add_parser("serve", help="run the server")
    serve_cmd.add_argument("--host", help="interface to listen on (default from settings)")
    serve_cmd.add_argument("--port", type=int, help="port (0: any free port)")
    serve_cmd.add_argument("--data-dir", type=Path, help="where the SQLite files live")
    serve_cmd.set_defaults(run=serve)

    db_cmd = commands.add_parser("db", help="the store: make the PostgreSQL schema, check versions")
    db_actions = db_cmd.add_subparsers(required=True, metavar="ACTION")
    init = db_actions.add_parser("init", help="create the schema and tables (safe to repeat)")
    init.add_argument("--dsn", help="PostgreSQL DSN (default: CML_FLEET_POSTGRES_DSN)")
    init.set_defaults(run=db_init)
    check = db_actions.add_parser(
        "check", help="say which versions the store holds and whether this release serves it"
    )
    check.add_argument("--data-dir", type=Path, help="the SQLite data dir (default: settings)")
    check.set_defaults(run=db_check)

    token_cmd = commands.add_parser("token", help="manage API tokens")
    tokens = token_cmd.add_subparsers(required=True, metavar="ACTION")
    create = tokens.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", help="who the token is for (the actor on events)")
    create.add_argument("--expires-days", type=float, help="expire after this many days")
    create.add_argument(
        "--team",
        action="append",
        default=[],
        help="a team whose workers it sees where VISIBILITY=team (repeat for several)",
    )
    create.add_argument("--data-dir", type=Path)
    create.set_defaults(run=token_create)
    create.add_argument("--new-store", action="store_true", help="start a new data dir")
    listing = tokens.add_parser("list", help="list tokens (ids, names, roles; never secrets)")
    listing.add_argument("--data-dir", type=Path)
    listing.set_defaults(run=token_list)
    revoke = tokens.add_parser("revoke", help="revoke a token at once (its id from list)")
    revoke.add_argument("id")
    revoke.add_argument("--data-dir", type=Path)
    revoke.set_defaults(run=token_revoke)

    saving = commands.add_parser(
        "backup", help="an online backup of a SQLite installation, while it serves"
    )
    saving.add_argument("dest", type=Path, help="the archive to write (.tar.gz), or a folder")
    saving.add_argument("--data-dir", type=Path, help="the data dir (default: settings)")
    saving.set_defaults(run=backup_command)
    restoring = commands.add_parser(
        "restore", help="check a backup and restore it into a new data dir"
    )
    restoring.add_argument("archive", type=Path, help="the backup (.tar.gz)")
    restoring.add_argument("--data-dir", type=Path, help="where to (default: settings)")
    restoring.set_defaults(run=restore_command)
    add_client_commands(commands)
    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(run=lambda args: _completion(parser, args.shell))

    schemas_cmd = commands.add_parser("schemas", help="public JSON Schemas")
    schemas = schemas_cmd.add_subparsers(required=True, metavar="ACTION")
    export = schemas.add_parser("export", help="write schemas/v1/<Name>.json")
    export.add_argument("--out", type=Path, default=Path("schemas"))
    export.set_defaults(run=schemas_export)
    check = schemas.add_parser("check", help="compare the contracts with the committed schemas")
    check.add_argument("--out", type=Path, default=Path("schemas"))
    check.set_defaults(run=schemas_check)
    return parser


def _completion(parser: argparse.ArgumentParser, shell: str) -> int:
    print(completion_script(parser, shell), end="")
    return 0


# ------------------------------------------------------------------- serve


def serve(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    configure_logging(settings.log_level)
    try:  # before anything is created on disk
        sock = _listen(settings.host, settings.port)
    except OSError as error:
        print(f"cml-fleet: cannot listen on {settings.host}:{settings.port}: {_why(error)}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        owner = data_dir.hold(settings.data_dir) if settings.persistence == "sqlite" else None
    except data_dir.DataDirInUse as error:
        sock.close()
        print(f"cml-fleet: {error}", file=sys.stderr)
        return 2
    tune_process(settings)  # GC thresholds: infrastructure.wiring.runtime
    system = bootstrap(settings)
    base_url = _base_url(settings, sock)
    if owner is not None:
        owner.record(base_url)
    with _one_process_at_a_time(system):  # several may start at once on PostgreSQL
        print(_welcome(system, base_url), flush=True)
        _seed_demo(system)
    config = uvicorn.Config(
        create_app(system),
        log_config=None,
        access_log=False,  # ours logs the path only: a login URL carries a token
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # X-Forwarded-For names the client only when a configured proxy says so; uvicorn
        # would otherwise believe any local process (a way around the login limit)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        http=protocol_with(settings.http_read_timeout_seconds),  # read deadline, abort
    )
    freeze_startup_objects()
    # uvicorn shuts down gracefully on Ctrl-C, then re-raises it: that is a normal exit.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def _one_process_at_a_time(system: System) -> contextlib.AbstractContextManager[None]:
    """First-start work (an admin token, the demo fleet) done by one process only."""
    if system.database is None:
        return nullcontext()
    lock: contextlib.AbstractContextManager[None] = system.database.exclusive(
        "cml-fleet:first-start"
    )
    return lock


def _listen(host: str, port: int) -> socket.socket:
    """Bind first, so the URL printed has the real port (also for ``--port 0``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP; without it keep-alive responses wait ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening now: a client that connects as soon as the URL is printed waits in the
    # backlog until the server accepts, instead of being refused.
    sock.listen(LISTEN_BACKLOG)
    return sock


def _why(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            "the port is in use (another cml-fleet, or another program); choose another "
            "with --port or CML_FLEET_PORT"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address; check --host or CML_FLEET_HOST"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return error.strerror or str(error)


def _base_url(settings: Settings, sock: socket.socket) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _welcome(system: System, base: str) -> str:
    """Like Jupyter: on the first start, an admin token inside the URL to open."""
    if system.auth.has_tokens():
        return (
            f"cml-fleet is serving on {base}\n"
            f"Log in with {base}/login?token=<token> (cml-fleet token create --role admin)"
        )
    token = system.auth.create_token(Role.ADMIN, "admin")
    return (
        f"cml-fleet is serving on {base}\n"
        "An admin token was created (it is shown only now). To log in, open:\n\n"
        f"    {base}/login?token={token}\n\n"
        f"API clients send: Authorization: Bearer {token}"
    )


def _seed_demo(system: System) -> None:
    """Record the demo fleet on a first start (``seed_demo_fleet`` leaves a used store alone)."""
    if system.settings.demo_workers > 0:
        seeded = seed_demo_fleet(system)
        if seeded:
            log.info("recorded a demo fleet of %d workers", seeded, extra={"workers": seeded})


# -------------------------------------------------------------------- db


def db_init(args: argparse.Namespace) -> int:
    """Create the PostgreSQL schema and tables; run once per database (again is harmless)."""
    overrides: dict[str, Any] = {"persistence": "postgres"}
    if args.dsn is not None:
        overrides["postgres_dsn"] = args.dsn
    settings = Settings(**overrides)
    if settings.postgres_dsn is None:
        print("cml-fleet: set CML_FLEET_POSTGRES_DSN or pass --dsn", file=sys.stderr)
        return 2
    tables = init_schema(settings)
    print(f"schema {settings.postgres_schema!r} is ready: {', '.join(tables)}")
    return 0


# ------------------------------------------------------------------ tokens


def _token_store(args: argparse.Namespace, new_store: bool = False) -> AuthStore | None:
    """The token store of the data dir (or database) the settings name, saying which;
    ``None`` (with one line) when there is none there and none is to be made."""
    settings = settings_of(args)
    where = _store_location(settings)
    missing = not (settings.data_dir / "auth.sqlite").exists()
    if settings.persistence == "sqlite" and missing and not new_store:
        print(
            f"cml-fleet: no token store in {settings.data_dir.resolve()} (no auth.sqlite): "
            "give the data dir the server uses (--data-dir or CML_FLEET_DATA_DIR), "
            "or --new-store to start one there",
            file=sys.stderr,
        )
        return None
    print(f"(token store: {where})", file=sys.stderr)
    return bootstrap(settings).auth


def _store_location(settings: Settings) -> str:
    if settings.persistence == "postgres":
        return f"PostgreSQL, schema {settings.postgres_schema!r}"
    return str((settings.data_dir / "auth.sqlite").resolve())


def token_create(args: argparse.Namespace) -> int:
    store = _token_store(args, new_store=args.new_store)
    if store is None:
        return 2
    role = Role(args.role)
    expires = None if args.expires_days is None else timedelta(days=args.expires_days)
    try:
        teams = [t for t in (team_name(t) for t in args.team) if t is not None]
    except InvalidValue as bad:
        print(f"cml-fleet: --team: {bad}", file=sys.stderr)
        return 2
    token = store.create_token(role, args.name or role.value, expires, teams)
    print(token)
    print(f"(a {role.value} token; it is not shown again)", file=sys.stderr)
    return 0


def token_list(args: argparse.Namespace) -> int:
    store = _token_store(args)
    if store is None:
        return 2
    print(f"{'ID':13} {'NAME':20} {'ROLE':9} {'CREATED':26} {'EXPIRES':26} {'LAST USED':26} TEAMS")
    for t in store.tokens():
        print(
            f"{t.id:13} {t.name:20} {t.role.value:9} {_when(t.created_at):26} "
            f"{_when(t.expires_at, 'never'):26} {_when(t.last_used_at, 'never'):26} "
            f"{','.join(t.teams) or '-'}"
        )
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    store = _token_store(args)
    if store is None:
        return 2
    if not store.revoke(args.id):
        print(f"cml-fleet: no token with id {args.id} (see: cml-fleet token list)", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked (running servers refuse it within 5 s)")
    return 0


def _when(moment: datetime | None, never: str = "") -> str:
    return never if moment is None else moment.isoformat(timespec="seconds")


# ----------------------------------------------------------------- schemas


def schemas_export(args: argparse.Namespace) -> int:
    rendered = render_schemas()
    for relative, text in rendered.items():
        path = args.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(rendered)} schemas to {args.out}")
    print(f"wrote the domain's rules for the dashboard to {write_rules_module()}")
    return 0


def committed_schemas(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.glob("v*/*.json"))}


def schemas_check(args: argparse.Namespace) -> int:
    report = compare_schemas(committed_schemas(args.out), render_schemas())
    print(report.explain() or "the committed schemas match the contracts")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
