"""The worker view: one SQLite row per worker (its DTO as JSON plus the columns that
filters, sorts and searches need) and the log position the rows reflect.

Rows and position are written in one transaction, so after a crash the view is exactly
at its tracked position and resumes from there. Writes are idempotent (a row is only
replaced by a later position, the position only moves forward): applying a batch twice,
e.g. by two processes sharing the file, changes nothing the second time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import cast

from eventsourcing.persistence import IntegrityError, Tracking

from application.queries import SORTABLE_FIELDS, ListWorkers
from infrastructure.read_model.costs import COSTS_TABLE, UPSERT_COST
from infrastructure.read_model.listing import ListingSql, listing_sql
from infrastructure.read_model.sqlite.connections import Connections
from infrastructure.read_model.view import WorkerRow, WorkerViewBase

SCHEMA_VERSION = 2  # bump when the tables or the search text change: rows get rebuilt
SCHEMA = (
    # Narrow rows to filter, sort and count on; the DTO JSON lives apart, so scans and
    # counts touch a few pages and only the rows of the page asked for are read whole.
    """CREATE TABLE IF NOT EXISTS workers (
        id TEXT PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, status TEXT NOT NULL,
        region TEXT NOT NULL, instance_type TEXT NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, version INTEGER NOT NULL, search TEXT NOT NULL,
        position INTEGER NOT NULL) WITHOUT ROWID""",
    *(f"CREATE INDEX IF NOT EXISTS workers_by_{c} ON workers ({c}, id)" for c in SORTABLE_FIELDS),
    """CREATE TABLE IF NOT EXISTS worker_dtos (
        id TEXT PRIMARY KEY, position INTEGER NOT NULL, dto TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS workers_tracking (
        application_name TEXT PRIMARY KEY, notification_id INTEGER NOT NULL)""",
    COSTS_TABLE,
)
VIEW_TABLES = ("workers", "worker_dtos", "workers_tracking", "worker_costs")
TEAM = "json_extract(d.dto, '$.team')"
CREATE_META = "CREATE TABLE IF NOT EXISTS workers_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
UPSERT_ROW = """
    INSERT INTO workers (id, name, status, region, instance_type, created_at, updated_at,
                         version, search, position)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, status = excluded.status, region = excluded.region,
        instance_type = excluded.instance_type, created_at = excluded.created_at,
        updated_at = excluded.updated_at, version = excluded.version,
        search = excluded.search, position = excluded.position
    WHERE excluded.position > workers.position"""
UPSERT_DTO = """
    INSERT INTO worker_dtos (id, position, dto) VALUES (?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET position = excluded.position, dto = excluded.dto
    WHERE excluded.position > worker_dtos.position"""
ADVANCE_TRACKING = """
    INSERT INTO workers_tracking (application_name, notification_id) VALUES (?, ?)
    ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id
    WHERE excluded.notification_id > workers_tracking.notification_id
    RETURNING notification_id"""
SELECT_POSITION = "SELECT notification_id FROM workers_tracking WHERE application_name = ?"


class WorkerView(WorkerViewBase):
    """SQLite tables of worker DTO rows; ``fingerprint`` changes force a rebuild."""

    def __init__(self, connections: Connections, application_name: str, fingerprint: str):
        self._db = connections
        self.application_name = application_name
        with self._db.writing() as c:
            c.execute(CREATE_META)
            row = c.execute("SELECT value FROM workers_meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != fingerprint:
                # Built by another schema, DTO shape or settings: start again from 0.
                for table in VIEW_TABLES:
                    c.execute(f"DROP TABLE IF EXISTS {table}")
                c.execute(
                    "INSERT OR REPLACE INTO workers_meta VALUES ('fingerprint', ?)", (fingerprint,)
                )
            for statement in SCHEMA:
                c.execute(statement)

    # -- TrackingRecorder --------------------------------------------------

    def insert_tracking(self, tracking: Tracking) -> None:
        """Record a position; raises ``IntegrityError`` unless it is ahead (library contract)."""
        with self._db.writing() as c:
            if not self._advance(c, tracking):
                msg = f"position {tracking.notification_id} already tracked"
                raise IntegrityError(msg)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self._db.reading() as c:
            row = c.execute(SELECT_POSITION, (application_name,)).fetchone()
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------

    def write(self, rows: Sequence[WorkerRow], tracking: Tracking) -> None:
        """Upsert the rows and move the tracked position, in one transaction."""
        self.write_with_costs(rows, tracking, ())

    records_costs = True

    def write_with_costs(
        self, rows: Sequence[WorkerRow], tracking: Tracking, costs: Sequence[tuple[str, str]]
    ) -> None:
        """Upsert the rows and cost ledgers and move the tracked position, in one
        transaction."""
        columns = [row.columns() for row in rows]
        documents = [row.document() for row in rows]  # encoded before the write lock
        with self._db.writing() as c:
            c.executemany(UPSERT_ROW, columns)
            c.executemany(UPSERT_DTO, documents)
            c.executemany(UPSERT_COST, costs)
            self._advance(c, tracking)

    def clear(self) -> None:
        """Forget every row and the position (before a rebuild)."""
        with self._db.writing() as c:
            self._clear(c)

    @staticmethod
    def _clear(c: sqlite3.Connection) -> None:
        c.execute("DELETE FROM workers")
        c.execute("DELETE FROM worker_dtos")
        c.execute("DELETE FROM workers_tracking")
        c.execute("DELETE FROM worker_costs")

    @staticmethod
    def _advance(c: sqlite3.Connection, tracking: Tracking) -> bool:
        params = (tracking.application_name, tracking.notification_id)
        return c.execute(ADVANCE_TRACKING, params).fetchone() is not None

    # -- reads (each in one read transaction, with the position it reflects) --

    def position(self) -> int:
        return self.max_tracking_id(self.application_name) or 0

    def get(self, worker_id: str) -> tuple[int, str] | None:
        sql = "SELECT position, dto FROM worker_dtos WHERE id = ?"
        row = self._db.read_one(sql, (worker_id,))
        return None if row is None else (cast(int, row[0]), str(row[1]))

    def recent(self, limit: int) -> list[tuple[str, int, str]]:
        sql = "SELECT id, position, dto FROM worker_dtos ORDER BY position DESC LIMIT ?"
        with self._db.reading() as c:
            rows = c.execute(sql, (limit,)).fetchall()
        return [(str(i), int(p), str(d)) for i, p, d in rows]

    def listing(self, query: ListWorkers) -> ListingSql:
        return listing_sql(query)

    def page(self, sql: ListingSql) -> tuple[list[tuple[str, str, str]], int, int]:
        """(sort value, id, DTO JSON) rows, the total matching the filters, the position."""
        with self._db.reading() as c:
            rows = c.execute(sql.page, sql.page_params).fetchall()
            total = c.execute(sql.count, sql.count_params).fetchone()[0]
            position = self._position(c)
        return rows, int(total), position

    def counts_by_status(self) -> tuple[dict[str, int], int]:
        with self._db.reading() as c:
            counts = c.execute("SELECT status, COUNT(*) FROM workers GROUP BY status").fetchall()
            position = self._position(c)
        return {status: int(n) for status, n in counts}, position

    def documents(
        self,
        worker_ids: Sequence[str] | None,
        *,
        include_terminated: bool = True,
        teams: bool = True,
    ) -> tuple[list[tuple[str, str | None, str]], int]:
        where, params = [], []
        if worker_ids is not None:
            where.append("id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(worker_ids)))
        if not include_terminated:
            where.append("w.status NOT IN ('terminated', 'released')")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = (
            f"SELECT id, {TEAM if teams else 'NULL'}, d.dto FROM workers w"
            f" JOIN worker_dtos d USING (id){clause} ORDER BY w.name, id"
        )
        with self._db.reading() as c:
            found = [(str(i), t, str(dto)) for i, t, dto in c.execute(sql, params).fetchall()]
            position = self._position(c)
        return found, position

    def ledgers(self, worker_ids: Iterable[str]) -> dict[str, str]:
        sql = "SELECT id, ledger FROM worker_costs WHERE id IN (SELECT value FROM json_each(?))"
        with self._db.reading() as c:
            rows = c.execute(sql, (json.dumps(list(worker_ids)),)).fetchall()
        return {str(k): str(v) for k, v in rows}

    def all_ledgers(self) -> tuple[list[str], int]:
        with self._db.reading() as c:
            rows = c.execute("SELECT ledger FROM worker_costs ORDER BY id").fetchall()
            position = self._position(c)
        return [str(r[0]) for r in rows], position

    def _position(self, c: sqlite3.Connection) -> int:
        row = c.execute(SELECT_POSITION, (self.application_name,)).fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        self._db.close()
