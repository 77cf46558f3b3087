"""Utilization history: raw samples of each metrics cycle, on the read side.

Samples are for charts, so they never enter the event log: they go to a small SQLite
table (``metrics.sqlite`` in the data dir; in memory when persistence is ``memory``),
keyed by worker and time, and the metrics job prunes what is older than the retention.
Losing this file loses only chart history, never state.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from application.jobs.ports import UtilizationSample
from infrastructure.shared.settings import Settings

FILE_NAME = "metrics.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    worker_id TEXT NOT NULL,
    at REAL NOT NULL,
    cpu REAL,
    memory REAL,
    disk REAL,
    PRIMARY KEY (worker_id, at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS samples_at ON samples (at);
"""


class MetricsHistory(Protocol):
    """Utilization samples by worker (a SQLite file or memory; a PostgreSQL table)."""

    def append(self, samples: Sequence[UtilizationSample]) -> None: ...

    def prune(self, before: datetime) -> int: ...

    def samples(
        self, worker_id: str, since: datetime | None = None, limit: int = 10_000
    ) -> tuple[UtilizationSample, ...]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


class SqliteMetricsHistory:
    """``UtilizationHistory`` in SQLite; safe to call from any thread."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # chart data: speed over safety
        self._db.executescript(SCHEMA)

    def append(self, samples: Sequence[UtilizationSample]) -> None:
        rows = [
            (s.worker_id, _epoch(s.at), s.cpu_percent, s.memory_percent, s.disk_percent)
            for s in samples
        ]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def prune(self, before: datetime) -> int:
        with self._lock:
            cursor = self._db.execute("DELETE FROM samples WHERE at < ?", (_epoch(before),))
            return cursor.rowcount

    def samples(
        self, worker_id: str, since: datetime | None = None, limit: int = 10_000
    ) -> tuple[UtilizationSample, ...]:
        start = _epoch(since) if since is not None else float("-inf")
        with self._lock:
            rows = self._db.execute(
                "SELECT at, cpu, memory, disk FROM samples"
                " WHERE worker_id = ? AND at >= ? ORDER BY at DESC LIMIT ?",
                (worker_id, start, limit),
            ).fetchall()
        return tuple(
            UtilizationSample(worker_id, datetime.fromtimestamp(at, UTC), cpu, mem, disk)
            for at, cpu, mem, disk in reversed(rows)
        )

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM samples").fetchone()
            return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_metrics_history(settings: Settings, database: Any = None) -> MetricsHistory:
    """The history for ``settings``: a file in the data dir, memory, or the PostgreSQL
    table on ``database`` (a ``shared.postgres.Database``) shared by every process."""
    if database is not None:
        from infrastructure.store.postgres.metrics_history import PgMetricsHistory

        return PgMetricsHistory(database)
    return SqliteMetricsHistory(settings.data_file(FILE_NAME))
