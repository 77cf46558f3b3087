"""``cml-fleet db check``, ``backup`` and ``restore``: the store, looked after from the
machine it lives on (notes/UPGRADES.md, notes/DEPLOYMENT.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infrastructure.console.commands import release
from infrastructure.shared.settings import Settings
from infrastructure.store.backup import BackupRefused, backup, restore
from infrastructure.store.upgrades import check_postgres, check_sqlite
from infrastructure.wiring.bootstrap import bootstrap


def settings_of(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("host", "port", "data_dir")
        if getattr(args, name, None) is not None
    }
    return Settings(**overrides)


def db_check(args: argparse.Namespace) -> int:
    """What the store holds (events by version) and whether this release can serve it."""
    settings = settings_of(args)
    if settings.persistence == "postgres":
        report = check_postgres(settings)
    elif settings.persistence == "sqlite":
        events = settings.data_dir / "events.sqlite"
        if not events.exists():
            print(f"cml-fleet: no event store in {settings.data_dir.resolve()}", file=sys.stderr)
            return 2
        report = check_sqlite(events)
    else:
        print("cml-fleet: the memory store keeps nothing to check", file=sys.stderr)
        return 2
    print(f"release: cml-fleet {release()}")
    for line in report.lines():
        print(line)
    return 0 if report.servable else 1


def backup_command(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if settings.persistence != "sqlite":
        print("cml-fleet: on PostgreSQL, back up with pg_dump (notes/DEPLOYMENT.md)",
              file=sys.stderr)  # fmt: skip
        return 2
    dest: Path = args.dest
    if dest.is_dir():
        dest = dest / f"cml-fleet-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    try:
        done = backup(settings.data_dir, dest, release())
    except BackupRefused as refused:
        print(f"cml-fleet: {refused}", file=sys.stderr)
        return 2
    log_end = done.manifest["log"]
    print(f"wrote {done.archive}: {len(done.manifest['files'])} files, "
          f"{log_end['events']:,} events (last position {log_end['last_position']:,})")  # fmt: skip
    return 0


def restore_command(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    try:
        manifest, report = restore(args.archive, settings.data_dir)
    except BackupRefused as refused:
        print(f"cml-fleet: {refused}", file=sys.stderr)
        return 1
    print(f"restored the backup of {manifest['created_at']} (release {manifest['release']}) "
          f"into {settings.data_dir}: {report.events:,} events")  # fmt: skip
    quiet = settings.model_copy(update={"demo_workers": 0, "scheduler_enabled": False,
                                        "operations_enabled": False})  # fmt: skip
    system = bootstrap(quiet)  # the read model catches up (or is rebuilt) from the log
    try:
        reached = system.read_model.catch_up()
        print(f"read model at position {reached:,} of {report.last_position:,}")
    finally:
        system.close()
    return 0
