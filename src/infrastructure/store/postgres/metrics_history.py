"""Utilization history on PostgreSQL (``metric_samples``), shared by every process.

Same behaviour as ``infrastructure.store.metrics_history.SqliteMetricsHistory``: raw samples
for charts, keyed by worker and time, pruned by the metrics job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from application.jobs.ports import UtilizationSample
from infrastructure.shared.postgres.database import Database

UPSERT = """INSERT INTO metric_samples VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (worker_id, at) DO UPDATE
    SET cpu = excluded.cpu, memory = excluded.memory, disk = excluded.disk"""
SELECT = """SELECT at, cpu, memory, disk FROM metric_samples
    WHERE worker_id = %s AND at >= %s ORDER BY at DESC LIMIT %s"""


class PgMetricsHistory:
    """``UtilizationHistory`` in PostgreSQL; safe to call from any thread."""

    def __init__(self, db: Database, *, owns_db: bool = False) -> None:
        self._db = db
        self._owns_db = owns_db

    def append(self, samples: Sequence[UtilizationSample]) -> None:
        rows = [
            (s.worker_id, s.at.timestamp(), s.cpu_percent, s.memory_percent, s.disk_percent)
            for s in samples
        ]
        if not rows:
            return
        with self._db.write() as conn, conn.cursor() as cursor:
            cursor.executemany(UPSERT, rows)

    def prune(self, before: datetime) -> int:
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM metric_samples WHERE at < %s", (before.timestamp(),))
            return cursor.rowcount

    def samples(
        self, worker_id: str, since: datetime | None = None, limit: int = 10_000
    ) -> tuple[UtilizationSample, ...]:
        start = since.timestamp() if since is not None else float("-inf")
        rows = self._db.all(SELECT, (worker_id, start, limit))
        return tuple(
            UtilizationSample(worker_id, datetime.fromtimestamp(at, UTC), cpu, mem, disk)
            for at, cpu, mem, disk in reversed(rows)
        )

    def count(self) -> int:
        row = self._db.one("SELECT COUNT(*) FROM metric_samples")
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        if self._owns_db:
            self._db.close()
