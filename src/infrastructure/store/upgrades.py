"""What a store holds, and whether this release can serve it (``cml-fleet db check``).

Each stored event names its type by topic and, from its second version on, carries its
``class_version`` (eventsourcing's convention: none means 1); a worker snapshot carries
the aggregate's the same way. This release reads every older version: the event class
upcasts it on read (``upcast_v1_v2`` …, notes/UPGRADES.md). It cannot serve a store
with a topic it does not know or a version newer than its own (a later release wrote
them), nor a PostgreSQL schema of another version (``cml-fleet db init`` upgrades it).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from application.notifications import CATALOGUE
from domain.worker import CMLWorker
from infrastructure.shared.postgres.database import Database
from infrastructure.shared.postgres.schema import SchemaMissing, check_schema, event_tables
from infrastructure.shared.settings import Settings

RELEASE_EVENTS: dict[str, int] = {
    str(cls.__dict__["TOPIC"]): int(getattr(cls, "class_version", 1)) for cls in CATALOGUE
}
"""Every event topic this release knows, with the version it writes."""
SNAPSHOT_TOPIC = "cml-fleet:CMLWorker"
SNAPSHOT_VERSION = int(getattr(CMLWorker, "class_version", 1))


def version_of(state: bytes) -> int:
    """The ``class_version`` in a stored state (JSON), 1 when it has none."""
    found = json.loads(state).get("class_version", 1)
    return int(found) if isinstance(found, int) else 1


@dataclass
class StoreReport:
    """Events (and snapshots) by topic and version; what this release makes of them."""

    where: str
    events: int = 0
    last_position: int = 0
    versions: Counter[tuple[str, int]] = field(default_factory=Counter)
    snapshots: Counter[int] = field(default_factory=Counter)
    schema_problem: str | None = None

    def add(self, rows: Iterable[tuple[int, str, bytes]]) -> None:
        for position, topic, state in rows:
            self.events += 1
            self.last_position = max(self.last_position, position)
            self.versions[(topic, version_of(state))] += 1

    @property
    def unknown(self) -> list[str]:
        return sorted({t for t, _ in self.versions if t not in RELEASE_EVENTS})

    @property
    def newer(self) -> list[tuple[str, int]]:
        found = [(t, v) for t, v in self.versions if t in RELEASE_EVENTS and v > RELEASE_EVENTS[t]]
        found += [(SNAPSHOT_TOPIC, v) for v in self.snapshots if v > SNAPSHOT_VERSION]
        return sorted(found)

    @property
    def upcast(self) -> list[tuple[str, int, int]]:
        """(topic, stored version, count) of what is read as a newer version."""
        return sorted(
            (t, v, n) for (t, v), n in self.versions.items()
            if t in RELEASE_EVENTS and v < RELEASE_EVENTS[t]
        )  # fmt: skip

    @property
    def servable(self) -> bool:
        return not (self.unknown or self.newer or self.schema_problem)

    def lines(self) -> Iterator[str]:
        yield f"store: {self.where}"
        yield f"events: {self.events:,} (last position {self.last_position:,})"
        snapshots = sum(self.snapshots.values())
        yield f"worker snapshots: {snapshots:,}"
        for topic, version, count in self.upcast:
            name = topic.rsplit(".", 1)[-1]
            yield (f"upgraded on read: {count:,} {name} events of version {version} "
                   f"(this release writes version {RELEASE_EVENTS[topic]})")  # fmt: skip
        for topic in self.unknown:
            yield f"unknown event type {topic}: written by a later release"
        for topic, version in self.newer:
            yield f"{topic} version {version} is newer than this release reads"
        if self.schema_problem:
            yield self.schema_problem
        if self.servable:
            yield "this release can serve it"
        else:
            yield "this release cannot serve it: use the release that wrote it (or a later one)"


def check_sqlite(events_file: Path) -> StoreReport:
    """Read ``events.sqlite`` (read-only: a serving process may hold it)."""
    report = StoreReport(str(events_file))
    uri = f"file:{events_file}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute("SELECT rowid, topic, state FROM stored_events ORDER BY rowid")
        report.add(rows)
        for (state,) in conn.execute("SELECT state FROM stored_snapshots"):
            report.snapshots[version_of(state)] += 1
    conn.close()
    return report


def check_postgres(settings: Settings) -> StoreReport:
    """Read the schema's event and snapshot tables, and its schema version."""
    database = Database.for_settings(settings)
    report = StoreReport(f"PostgreSQL, schema {database.schema!r}")
    try:
        try:
            check_schema(database)
        except SchemaMissing as missing:
            report.schema_problem = str(missing)
            return report
        events, snapshots = event_tables()
        query = f"SELECT notification_id, topic, state FROM {events} ORDER BY notification_id"
        report.add(database.all(query))
        for (state,) in database.all(f"SELECT state FROM {snapshots}"):
            report.snapshots[version_of(bytes(state))] += 1
    finally:
        database.close()
    return report
