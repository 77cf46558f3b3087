"""The worker view in PostgreSQL, shared by every process: the same interface as the
SQLite ``WorkerView`` (rows + tracked position, written in one transaction).

Every process projects the log itself (see notes/decisions/0003), so several write the
same batches. Writers take one transaction-scoped advisory lock, then read the tracked
position T: a batch another process has already committed is not written again (its
rows are there, at least as new), only acknowledged. Whatever is written is computed
from the state at T and the events after T only: DTO rows depend on the aggregate
alone (and are replaced only by a later position), and cost ledgers, which are *folds*
of events, are folded inside the transaction from the stored ledgers at T
(``infrastructure.read_model.postgres.costs``), never from a cache that may have seen another
process's writes. So no event is counted twice, and the position only moves forward.
A process whose DTO shape or idle settings differ from those the rows were built with
(the fingerprint) refuses to write instead of mixing two shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking

from application.queries import ListWorkers
from infrastructure.read_model.codec import search_text
from infrastructure.read_model.costs import CostFolding
from infrastructure.read_model.listing import ListingSql
from infrastructure.read_model.postgres.costs import (
    SELECT_LEDGERS,
    UPSERT_COST,
    InTransactionCostFold,
    fold_costs,
)
from infrastructure.read_model.postgres.listing import name_key, pg_listing_sql
from infrastructure.read_model.view import WorkerRow, WorkerViewBase
from infrastructure.shared.postgres.database import Database, lock_key
from infrastructure.shared.settings import Settings

log = logging.getLogger(__name__)

UPSERT_ROW = """
    INSERT INTO workers (id, name_key, status, region, instance_type, created_at, updated_at,
                         version, search, position)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET
        name_key = excluded.name_key, status = excluded.status, region = excluded.region,
        instance_type = excluded.instance_type, created_at = excluded.created_at,
        updated_at = excluded.updated_at, version = excluded.version,
        search = excluded.search, position = excluded.position
    WHERE excluded.position > workers.position"""
UPSERT_DTO = """
    INSERT INTO worker_dtos (id, position, dto) VALUES (%s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET position = excluded.position, dto = excluded.dto
    WHERE excluded.position > worker_dtos.position"""
ADVANCE_TRACKING = """
    INSERT INTO workers_tracking (application_name, notification_id) VALUES (%s, %s)
    ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id
    WHERE excluded.notification_id > workers_tracking.notification_id
    RETURNING notification_id"""
SELECT_POSITION = "SELECT notification_id FROM workers_tracking WHERE application_name = %s"
SELECT_STATE = f"""SELECT ({SELECT_POSITION}),
    (SELECT value FROM workers_meta WHERE key = 'fingerprint')"""
SET_FINGERPRINT = """INSERT INTO workers_meta VALUES ('fingerprint', %s)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value"""


class ViewBuiltDifferently(RuntimeError):
    """The shared rows were built with another DTO shape or other idle settings."""


def _columns(row: WorkerRow) -> tuple[object, ...]:
    d = row.dto
    return (
        *(d.id, name_key(d.name), d.status, d.region, d.instance_type, d.created_at),
        *(d.updated_at, d.version, search_text(d), row.position),
    )


TEAM = "d.dto::jsonb ->> 'team'"
MAX_TOTALS = 256
"""Listings whose totals are remembered (by filters); more, and all are forgotten."""


class PgWorkerView(WorkerViewBase):
    """Worker DTO rows in PostgreSQL tables shared by every process."""

    def __init__(
        self, db: Database, application_name: str, fingerprint: str, *, owns_db: bool = False
    ) -> None:
        self._db = db
        self._owns_db = owns_db
        self.application_name = application_name
        self.fingerprint = fingerprint
        self._lock = lock_key(f"cml-fleet:read-model:{application_name}")
        self.batches_written = 0
        self.batches_acknowledged = 0  # already written by another process
        self._totals: dict[tuple[str, str], tuple[int, int]] = {}
        """Count statement → (position, total): a listing's total, exact at that position."""
        self._adopt_fingerprint()

    def _adopt_fingerprint(self) -> None:
        """Rows built another way are dropped (rebuilt from the log) by the new version."""
        with self._db.write() as c:
            self._lock_writers(c)
            _, stored = self._state(c)
            if stored == self.fingerprint:
                return
            if stored is not None:
                log.warning("read model: built with other settings or DTO shape; rebuilding")
            self._clear(c)
            c.execute(SET_FINGERPRINT, (self.fingerprint,))

    # -- TrackingRecorder ------------------------------------------------------

    def insert_tracking(self, tracking: Tracking) -> None:
        """Record a position; raises ``IntegrityError`` unless it is ahead (library contract)."""
        with self._db.write() as c:
            self._lock_writers(c)
            if not self._advance(c, tracking):
                msg = f"position {tracking.notification_id} already tracked"
                raise IntegrityError(msg)

    def max_tracking_id(self, application_name: str) -> int | None:
        row = self._db.one(SELECT_POSITION, (application_name,))
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------------

    def write(self, rows: Sequence[WorkerRow], tracking: Tracking) -> None:
        """Upsert the rows and move the tracked position, in one transaction."""
        self.write_with_costs(rows, tracking, ())

    records_costs = True

    def cost_fold(self) -> CostFolding:
        """Folded inside the write transaction, from the stored ledgers (several
        processes write them: decision record 0003)."""
        return InTransactionCostFold()

    def write_with_costs(self, rows: Sequence[WorkerRow], tracking: Tracking, costs: Any) -> None:
        """Upsert the rows and cost ledgers (``DeferredCosts``: folded here) and move the
        tracked position, in one transaction; a batch already written is acknowledged."""
        columns = [_columns(row) for row in rows]
        documents = [row.document() for row in rows]  # encoded before taking the lock
        with self._db.write() as c:
            self._lock_writers(c)
            tracked, stored = self._state(c)
            if stored != self.fingerprint:
                raise ViewBuiltDifferently(
                    "the shared read model was rebuilt by a process with other settings or "
                    "another version: restart this process with the same ones"
                )
            if tracked is not None and tracked >= tracking.notification_id:
                self.batches_acknowledged += 1
                return
            if columns:
                with c.cursor() as cursor:
                    cursor.executemany(UPSERT_ROW, columns)
                    cursor.executemany(UPSERT_DTO, documents)
            ledgers = fold_costs(c, costs, tracked or 0)
            if ledgers:
                with c.cursor() as cursor:
                    cursor.executemany(UPSERT_COST, ledgers)
            self._advance(c, tracking)
        self.batches_written += 1

    def clear(self) -> None:
        """Forget every row and the position (before a rebuild)."""
        with self._db.write() as c:
            self._lock_writers(c)
            self._clear(c)

    def _lock_writers(self, c: psycopg.Connection[Any]) -> None:
        """One writer at a time across processes, until this transaction ends."""
        c.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))

    def _state(self, c: psycopg.Connection[Any]) -> tuple[int | None, str | None]:
        row = c.execute(SELECT_STATE, (self.application_name,)).fetchone()
        assert row is not None
        return row[0], row[1]

    @staticmethod
    def _clear(c: psycopg.Connection[Any]) -> None:
        c.execute("DELETE FROM workers")
        c.execute("DELETE FROM worker_dtos")
        c.execute("DELETE FROM workers_tracking")
        c.execute("DELETE FROM worker_costs")

    @staticmethod
    def _advance(c: psycopg.Connection[Any], tracking: Tracking) -> bool:
        params = (tracking.application_name, tracking.notification_id)
        return c.execute(ADVANCE_TRACKING, params).fetchone() is not None

    # -- reads (each with the position it reflects, on one snapshot) -------------

    def position(self) -> int:
        return self.max_tracking_id(self.application_name) or 0

    def get(self, worker_id: str) -> tuple[int, str] | None:
        sql = "SELECT position, dto FROM worker_dtos WHERE id = %s"
        row = self._db.one(sql, (worker_id,))
        return None if row is None else (int(row[0]), str(row[1]))

    def recent(self, limit: int) -> list[tuple[str, int, str]]:
        sql = "SELECT id, position, dto FROM worker_dtos ORDER BY position DESC LIMIT %s"
        return [(str(i), int(p), str(d)) for i, p, d in self._db.all(sql, (limit,))]

    def listing(self, query: ListWorkers) -> ListingSql:
        return pg_listing_sql(query)

    def page(self, sql: ListingSql) -> tuple[list[tuple[str, str, str]], int, int]:
        """(sort value, id, DTO JSON) rows, the total matching the filters, the position.

        Counting the matches reads every row (8-12 ms for 100,000 workers, most of a page's
        time), so a total is remembered with the position it was counted at and answered
        again while the position has not moved: rows and position change in the same
        transaction, so an unchanged position means unchanged rows. Counted after reading
        the position, a total that already saw a newer write is filed under an older
        position, which no later request can be at.
        """
        key = (sql.count, repr(sql.count_params))  # the parameters may hold lists
        with self._db.read() as c:
            position = self._position(c)
            rows = c.execute(sql.page, sql.page_params).fetchall()
            remembered = self._totals.get(key)
            if remembered is not None and remembered[0] == position:
                total = remembered[1]
            else:
                found = c.execute(sql.count, sql.count_params).fetchone()
                assert found is not None
                total = int(found[0])
                if len(self._totals) >= MAX_TOTALS:
                    self._totals.clear()
                self._totals[key] = (position, total)
        return [(str(a), str(b), str(d)) for a, b, d in rows], total, position

    def counts_by_status(self) -> tuple[dict[str, int], int]:
        with self._db.read() as c:
            counts = c.execute("SELECT status, COUNT(*) FROM workers GROUP BY status").fetchall()
            position = self._position(c)
        return {str(status): int(n) for status, n in counts}, position

    def documents(
        self,
        worker_ids: Sequence[str] | None,
        *,
        include_terminated: bool = True,
        teams: bool = True,
    ) -> tuple[list[tuple[str, str | None, str]], int]:
        where: list[str] = []
        params: list[Any] = []
        if worker_ids is not None:
            where.append("w.id = ANY(%s)")
            params.append(list(worker_ids))
        if not include_terminated:
            where.append("w.status NOT IN ('terminated', 'released')")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = (
            f"SELECT w.id, {TEAM if teams else 'NULL'}, d.dto FROM workers w"
            f" JOIN worker_dtos d ON d.id = w.id{clause} ORDER BY w.name_key, w.id"
        )
        with self._db.read() as c:
            found = [(str(i), t, str(dto)) for i, t, dto in c.execute(sql, params).fetchall()]
            position = self._position(c)
        return found, position

    def ledgers(self, worker_ids: Iterable[str]) -> dict[str, str]:
        """Cost ledger JSON of the given workers that have one."""
        rows = self._db.all(SELECT_LEDGERS, (list(worker_ids),))
        return {str(k): str(v) for k, v in rows}

    def all_ledgers(self) -> tuple[list[str], int]:
        """Every cost ledger's JSON, and the position they reflect."""
        with self._db.read() as c:
            rows = c.execute("SELECT ledger FROM worker_costs ORDER BY id").fetchall()
            position = self._position(c)
        return [str(r[0]) for r in rows], position

    def _position(self, c: psycopg.Connection[Any]) -> int:
        row = c.execute(SELECT_POSITION, (self.application_name,)).fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        if self._owns_db:
            self._db.close()


def open_view(
    settings: Settings, database: Database | None, application_name: str, fingerprint: str
) -> PgWorkerView:
    """The view on ``database``, or on a pool of its own (closed with the view)."""
    if database is not None:
        return PgWorkerView(database, application_name, fingerprint)
    own = Database.for_settings(settings)
    return PgWorkerView(own, application_name, fingerprint, owns_db=True)
