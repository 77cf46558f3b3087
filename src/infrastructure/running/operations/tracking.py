"""The reactor's tracked position: how far in the log every operation is settled.

A tiny interface (:class:`PositionTracker`) so that each store can keep it where it
belongs: a SQLite file of its own in the data dir (``reactor.sqlite``), an in-memory
SQLite database in memory mode; a PostgreSQL implementation keeps it in a table.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from infrastructure.shared.settings import Settings

FILE_NAME = "reactor.sqlite"
NAME = "operations"
SCHEMA = "CREATE TABLE IF NOT EXISTS reactor_tracking (name TEXT PRIMARY KEY, position INTEGER)"
ADVANCE = """
    INSERT INTO reactor_tracking (name, position) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET position = excluded.position
    WHERE excluded.position > reactor_tracking.position"""


class PositionTracker(Protocol):
    """Where the reactor resumes after a restart. Positions only move forward."""

    def position(self) -> int:
        """The last log position whose operation (and every one before it) is settled."""
        ...

    def advance(self, position: int) -> None:
        """Record ``position`` durably; a lower one than recorded changes nothing."""
        ...

    def close(self) -> None: ...


class SQLitePositionTracker:
    """The position in a SQLite file (``path``), or in memory when ``path`` is None."""

    def __init__(self, path: Path | None, name: str = NAME) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path),
            isolation_level=None,  # autocommit: every advance is its own transaction
            check_same_thread=False,
            timeout=30.0,
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)

    def position(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT position FROM reactor_tracking WHERE name = ?", (self.name,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def advance(self, position: int) -> None:
        with self._lock:
            self._db.execute(ADVANCE, (self.name, position))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_tracker(settings: Settings, database: Any = None) -> PositionTracker:
    """``reactor.sqlite`` in the data dir; in memory when persistence is ``memory``; the
    ``reactor_tracking`` table on PostgreSQL ``database`` (shared: a new leader resumes)."""
    if database is not None:
        from infrastructure.running.operations.postgres_tracking import PgPositionTracker

        return PgPositionTracker(database)
    return SQLitePositionTracker(settings.data_file(FILE_NAME))
