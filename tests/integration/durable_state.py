"""What a stopped server left in its data dir, read directly: the event log as the
stream would show it, and the read model's tables (the server's, or a fresh rebuild)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from application.notifications import to_notification
from infrastructure.read_model.sqlite.view import VIEW_TABLES
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import FleetEventStore
from infrastructure.wiring.bootstrap import event_store_env
from infrastructure.wiring.builders import READ_MODEL_FILE, build_read_model

PAGE = 500


@dataclass(frozen=True)
class Logged:
    """One stored event as a subscriber sees it: SSE id, type, worker, correlation id."""

    position: int
    type: str
    worker_id: str
    correlation_id: str
    version: int


def logged_events(data_dir: Path) -> list[Logged]:
    """The whole event log, in order (read with the server stopped)."""
    store = FleetEventStore(event_store_env(Settings(data_dir=data_dir)))
    events: list[Logged] = []
    try:
        while page := store.read_log(events[-1].position if events else 0, PAGE):
            for stored in page:
                note = to_notification(store.to_domain_event(stored))
                who = (note.worker_id, note.correlation_id, note.version)
                events.append(Logged(stored.id, note.type, *who))
    finally:
        store.close()
    return events


def view_tables(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the read model's tables in ``data_dir``, sorted."""
    connection = sqlite3.connect(data_dir / READ_MODEL_FILE)
    try:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall())
            for table in VIEW_TABLES
        }
    finally:
        connection.close()


def fresh_rebuild(data_dir: Path, into: Path) -> Path:
    """A new read model built from ``data_dir``'s event log alone, in ``into``."""
    store = FleetEventStore(event_store_env(Settings(data_dir=data_dir)))
    model = build_read_model(Settings(data_dir=into), store)
    try:
        model.catch_up()
    finally:
        model.close()
        store.close()
    return into
