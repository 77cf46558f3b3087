"""``cml-fleet backup`` and ``cml-fleet restore``: a consistent online copy of an
embedded (SQLite) installation, in one archive with a manifest and checksums.

Consistent while it serves: each database is copied with SQLite's online backup API
(one step, so one read snapshot of that file), and the event log is copied **last**.
Every other file — the read model, the webhook outbox and the engine with their tracking
positions, idempotency answers, labs, schedules, budgets, tokens — only refers to what
the log held when it was copied, so in the copy every position is at most the log's end:
on start, each follower carries on from its position, as after a crash. A command
acknowledged before the backup began is in it.

A restore refuses an archive that is damaged (a checksum, a size, a file missing or
unknown, not a gzip'd tar) or that a later release wrote (``upgrades``), and restores
only into a data dir without a store.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infrastructure.store.upgrades import RELEASE_EVENTS, StoreReport, check_sqlite

FORMAT = 1
MANIFEST = "manifest.json"
LOG = "events.sqlite"
PLAIN_FILES = ("simulated-fleet.jsonl",)  # the simulated cloud's journal (demo, tests)
TRACKING = {  # file: (table, position column) of a follower's position in the log
    "readmodel.sqlite": ("workers_tracking", "notification_id"),
    "reactor.sqlite": ("reactor_tracking", "position"),
    "webhooks.sqlite": ("webhook_tracking", "position"),
}


class BackupRefused(Exception):
    """The archive cannot be restored (or the backup cannot be made): why, plainly."""


@dataclass(frozen=True)
class Done:
    archive: Path
    manifest: dict[str, Any]


def _databases(data_dir: Path) -> list[Path]:
    """Every database of the data dir, the log last."""
    found = sorted(p for p in data_dir.glob("*.sqlite") if p.name != LOG)
    if not (data_dir / LOG).exists():
        raise BackupRefused(f"no event store in {data_dir} (no {LOG}): nothing to back up")
    return [*found, data_dir / LOG]


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # every page in one step: one consistent read of the file
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (WAL again once served)
    src.close()
    dst.close()


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return {"sha256": sha.hexdigest(), "bytes": path.stat().st_size}


def _positions(folder: Path) -> dict[str, int]:
    positions = {}
    for name, (table, column) in TRACKING.items():
        if (folder / name).exists():
            with sqlite3.connect(folder / name) as conn:
                try:
                    row = conn.execute(f"SELECT max({column}) FROM {table}").fetchone()
                except sqlite3.OperationalError:  # not made yet
                    row = None
            conn.close()
            positions[name] = int(row[0]) if row and row[0] is not None else 0
    return positions


def backup(data_dir: Path, archive: Path, release: str) -> Done:
    """Write ``archive`` (a .tar.gz) from ``data_dir``, serving or not."""
    databases = _databases(data_dir)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".backup-") as scratch:
        folder = Path(scratch)
        names = []
        for database in databases:
            _copy(database, folder / database.name)
            names.append(database.name)
        for name in PLAIN_FILES:
            if (data_dir / name).exists():
                shutil.copyfile(data_dir / name, folder / name)
                names.append(name)
        report = check_sqlite(folder / LOG)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "release": release,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": str(data_dir.resolve()),
            "log": {"events": report.events, "last_position": report.last_position},
            "event_versions": {t: v for (t, v) in sorted(report.versions)},
            "tracking": _positions(folder),
            "files": {name: _digest(folder / name) for name in sorted(names)},
        }
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            for name in manifest["files"]:
                tar.add(folder / name, arcname=name)
        partial.replace(archive)
    return Done(archive, manifest)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for member in tar.getmembers():
        if not member.isfile() or "/" in member.name or member.name.startswith("."):
            raise BackupRefused(f"the archive holds {member.name!r}, which no backup holds")
        yield member


def restore(archive: Path, data_dir: Path) -> tuple[dict[str, Any], StoreReport]:
    """Check ``archive`` and put its files in ``data_dir`` (new, or without a store)."""
    if (data_dir / LOG).exists():
        raise BackupRefused(f"{data_dir} already holds a store: restore into a new data dir")
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as error:
        raise BackupRefused(f"{archive} is not a cml-fleet backup ({error})") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    with tar, tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as scratch:
        folder = Path(scratch)
        try:
            members = {m.name: m for m in _members(tar)}
            manifest = _manifest(tar, members)
            for name in manifest["files"]:
                _extract(tar, members, name, folder)
        except (OSError, tarfile.TarError, EOFError) as error:
            raise BackupRefused(f"{archive} is damaged ({error})") from None
        _check_files(manifest, members, folder)
        report = check_sqlite(folder / LOG)
        if not report.servable:
            raise BackupRefused("a later release wrote this backup: " + "; ".join(report.lines()))
        for name in manifest["files"]:
            (folder / name).replace(data_dir / name)
    return manifest, report


def _manifest(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo]) -> dict[str, Any]:
    if MANIFEST not in members:
        raise BackupRefused("the archive has no manifest: it is not a cml-fleet backup")
    raw = tar.extractfile(members[MANIFEST])
    assert raw is not None
    try:
        manifest: dict[str, Any] = json.loads(raw.read())
    except ValueError:
        raise BackupRefused("the manifest is damaged") from None
    if not isinstance(manifest.get("format"), int) or manifest["format"] > FORMAT:
        raise BackupRefused(
            f"backup format {manifest.get('format')!r} is newer than this release reads "
            f"({FORMAT}): restore it with release {manifest.get('release')} or later"
        )
    newer = [t for t, v in manifest.get("event_versions", {}).items()
             if t not in RELEASE_EVENTS or v > RELEASE_EVENTS[t]]  # fmt: skip
    if newer:
        raise BackupRefused(f"release {manifest.get('release')} wrote this backup; this "
                            f"release cannot read its {', '.join(sorted(newer))}")  # fmt: skip
    if LOG not in manifest.get("files", {}):
        raise BackupRefused("the manifest lists no event log")
    return manifest


def _extract(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, folder: Path
) -> None:
    if name not in members or "/" in name:
        raise BackupRefused(f"{name} is missing from the archive")
    source = tar.extractfile(members[name])
    assert source is not None
    with (folder / name).open("wb") as target:
        shutil.copyfileobj(source, target)


def _check_files(manifest: dict[str, Any], members: dict[str, Any], folder: Path) -> None:
    unknown = set(members) - set(manifest["files"]) - {MANIFEST}
    if unknown:
        raise BackupRefused(
            f"the archive holds files its manifest does not list: {sorted(unknown)}"
        )
    for name, expected in manifest["files"].items():
        if _digest(folder / name) != expected:
            raise BackupRefused(f"{name} is damaged: its checksum or size is not the manifest's")
