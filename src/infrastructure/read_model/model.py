"""The read model: queries on the worker view, kept current by the projection follower.

Implements ``application.queries.WorkerReadModel`` plus what the live read side needs:
``all_workers``, ``snapshot`` (DTOs and the position they reflect, read together),
listeners called after each committed batch, and waiting for a position.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import datetime

from application.costs import CostLedger, FleetCost, Prices, fleet_cost
from application.dto import ActivityDto, CMLWorkerDto, PauseDto
from application.errors import WorkerNotFound
from application.mapper import IdleDefaults
from application.queries import FleetSummary, GetWorker, ListWorkers, WorkerPage
from domain.status import WorkerStatus
from infrastructure.read_model.codec import dto_from_json
from infrastructure.read_model.costs import decode as decode_ledger
from infrastructure.read_model.follower import BATCH_SIZE, ProjectionFollower
from infrastructure.read_model.hot_rows import HotRows
from infrastructure.read_model.listing import encode_cursor
from infrastructure.read_model.projected import ProjectedEvent
from infrastructure.read_model.projection import CACHE_SIZE, WorkerProjection
from infrastructure.read_model.sqlite.view import SCHEMA_VERSION
from infrastructure.read_model.teams import TeamIndex
from infrastructure.read_model.view import WorkerViewBase
from infrastructure.read_model.waiters import PositionWaiters
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import FleetEventStore

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[ProjectedEvent]], object]


class ReadModel:
    """Worker DTO rows in SQLite, following the event log in a background thread."""

    def __init__(
        self,
        view: WorkerViewBase,
        store: FleetEventStore,
        idle: IdleDefaults,
        *,
        batch_size: int = BATCH_SIZE,
        cache_size: int = CACHE_SIZE,
        hot_rows: int = 0,
    ) -> None:
        self.view = view
        tracked = view.position()
        self.hot = HotRows(hot_rows)
        self.projection = WorkerProjection(view, store, idle, cache_size, self.hot)
        self.follower = ProjectionFollower(
            self.projection, store, self._publish, tracked, batch_size
        )
        self._waiters = PositionWaiters(tracked)
        # Listeners hear of each position once, from the tracked one on: after a restart
        # only what the view had not applied yet, never the history a rebuild replays.
        self._delivered = tracked
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self.teams = TeamIndex(lambda: self.view.select(None)[0], self.add_listener)
        """Each worker's team, for visibility by team (loaded when first asked)."""

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Load the most recently changed rows into memory, then follow the log in a
        daemon thread."""
        if self.hot.capacity and not len(self.hot):
            stamp = self.hot.stamp()
            self.hot.fill(self.view.recent(self.hot.capacity), stamp)
        self.follower.start()

    def stop(self) -> None:
        """Stop following; returns at once (after a batch in progress has committed)."""
        self.follower.stop()

    def close(self) -> None:
        """Stop, then close the database connections."""
        self.stop()
        self.view.close()

    def catch_up(self) -> int:
        """Project everything logged so far in the calling thread; returns the position."""
        return self.follower.catch_up()

    def rebuild(self) -> int:
        """Drop every row and the position, then replay the whole log."""
        with self.follower.processing:
            self.view.clear()
            self.hot.clear()
            self.projection.cache.clear()
            self.projection.costs.clear()
            self.follower.position = 0
            return self.follower.catch_up()

    # -- WorkerReadModel -----------------------------------------------------

    def get_worker(self, query: GetWorker) -> CMLWorkerDto:
        return dto_from_json(self.get_worker_json(query))

    def list_workers(self, query: ListWorkers) -> WorkerPage:
        """One page; raises ``InvalidValue`` naming a bad sort, limit, status or cursor."""
        texts, next_cursor, total, position = self._page(query)
        items = tuple(dto_from_json(text) for text in texts)
        return WorkerPage(items=items, next_cursor=next_cursor, total=total, position=position)

    # The HTTP queries answer with the stored JSON as it is: the rows were serialized once,
    # by the projection, from the mapper's DTO; decoding and re-encoding them per request
    # would be most of a query's cost.

    def get_worker_json(self, query: GetWorker) -> str:
        """The worker's DTO as JSON (the public worker view), as stored."""
        worker_id = str(query.worker_id)
        text = self.hot.get(worker_id)
        if text is not None:
            return text
        stamp = self.hot.stamp()
        row = self.view.get(worker_id)
        if row is None:
            raise WorkerNotFound(query.worker_id)
        self.hot.fill([(worker_id, *row)], stamp)
        return row[1]

    def hot_worker_json(self, query: GetWorker) -> str | None:
        """:meth:`get_worker_json` if the row is in memory (no I/O: safe on the event
        loop), else None."""
        return self.hot.get(str(query.worker_id))

    def list_workers_json(self, query: ListWorkers) -> str:
        """One page as JSON in the shape of ``WorkerPage``, splicing the stored rows."""
        texts, next_cursor, total, position = self._page(query)
        tail = json.dumps({"next_cursor": next_cursor, "total": total, "position": position})
        return '{"items":[' + ",".join(texts) + "]," + tail[1:]

    def _page(self, query: ListWorkers) -> tuple[list[str], str | None, int, int]:
        rows, total, position = self.view.page(self.view.listing(query))
        page = rows[: query.limit]
        more = len(rows) > query.limit
        next_cursor = encode_cursor(query, page[-1][0], page[-1][1]) if more else None
        return [dto for _, _, dto in page], next_cursor, total, position

    def fleet_summary(self, teams: frozenset[str] | None = None) -> FleetSummary:
        """Counts by status of every worker, or of ``teams``' workers."""
        if teams is None:
            counts, position = self.view.counts_by_status()
        else:
            texts, position = self.view.select(self.teams.members(teams))
            counts = Counter(json.loads(text)["status"] for text in texts)
        by_status = {s.value: counts.get(s.value, 0) for s in WorkerStatus}
        return FleetSummary(total=sum(counts.values()), by_status=by_status, position=position)

    def position(self) -> int:
        return self.view.position()

    def cost_ledgers(self) -> list[CostLedger]:
        """Every worker's cost ledger (terminated ones too: their hours were spent)."""
        texts, _ = self.view.all_ledgers()
        return [decode_ledger(t) for t in texts]

    def fleet_costs(
        self,
        now: datetime,
        prices: Prices,
        per_worker: bool = False,
        teams: frozenset[str] | None = None,
    ) -> FleetCost:
        """Running and saved hours of every worker (or of ``teams``' workers), and their
        price, as of ``now``."""
        texts, _ = self.view.all_ledgers()
        ledgers = [decode_ledger(t) for t in texts]
        if teams is not None:
            members = set(self.teams.members(teams))
            ledgers = [ledger for ledger in ledgers if ledger.worker_id in members]
        return fleet_cost(ledgers, prices, now, per_worker)

    # -- the live read side ----------------------------------------------------

    def all_workers(self, include_terminated: bool = False) -> tuple[CMLWorkerDto, ...]:
        texts, _ = self.view.select(None, include_terminated=include_terminated)
        return tuple(dto_from_json(t) for t in texts)

    def snapshot(
        self, worker_ids: Sequence[str] | None = None
    ) -> tuple[tuple[CMLWorkerDto, ...], int]:
        """The DTOs of the given workers (all when ``None``) and the position they reflect."""
        texts, position = self.view.select(worker_ids)
        return tuple(dto_from_json(t) for t in texts), position

    def snapshot_documents(
        self, worker_ids: Sequence[str] | None = None, *, teams: bool = True
    ) -> tuple[list[tuple[str, str | None, str]], int]:
        """:meth:`snapshot` as the view holds it: (id, team, DTO JSON) of each worker,
        by name, and the position (for frames made without decoding a DTO); the team
        only when ``teams``."""
        return self.view.documents(worker_ids, teams=teams)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(batch)`` from the projection thread after each committed batch.

        Returns a function that removes the listener.
        """
        with self._listeners_lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    async def wait_until(self, position: int, timeout: float) -> bool:
        """True once the view has committed ``position``; False after ``timeout`` s."""
        return await self._waiters.wait(position, timeout)

    def wait_until_blocking(self, position: int, timeout: float) -> bool:
        """:meth:`wait_until` for threads (CLI, tests, jobs running in a thread)."""
        return self._waiters.wait_blocking(position, timeout)

    def _publish(self, position: int, batch: list[ProjectedEvent]) -> None:
        self._waiters.advance(position)
        fresh = [p for p in batch if p.position > self._delivered]
        self._delivered = max(self._delivered, position)
        if not fresh:
            return
        with self._listeners_lock:
            listeners = tuple(self._listeners)
        for listener in listeners:
            try:
                listener(fresh)
            except Exception:  # one broken listener must not stop the projection
                log.exception("read model: listener %r failed", listener)


def fingerprint(idle: IdleDefaults) -> str:
    """Identifies what the stored rows depend on; a change means rows must be rebuilt."""
    shape = [
        (c.__name__, f.name, str(f.type))
        for c in (CMLWorkerDto, ActivityDto, PauseDto)
        for f in fields(c)
    ]
    text = json.dumps([SCHEMA_VERSION, shape, asdict(idle)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def idle_defaults(settings: Settings) -> IdleDefaults:
    """The fleet-wide idle settings every DTO is mapped with."""
    return IdleDefaults(
        timeout_minutes=settings.idle_timeout_minutes,
        snooze_minutes=settings.idle_snooze_minutes,
        enabled=settings.idle_detection_enabled,
    )
