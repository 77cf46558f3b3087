"""The projection: domain events in, worker DTO rows (built by THE mapper) out.

Committed rows go to the read model's hot rows (``hot_rows``) before anyone hears of
the batch. Aggregates are kept in a bounded LRU cache so that each event costs one ``mutate``
instead of a reload; when the cached version is not the one just before the event (cold
cache, eviction, a restart, a failed batch) the worker is loaded at the event's version
from the store, which uses snapshots.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection

from application.mapper import IdleDefaults, map_worker_to_dto
from domain.worker import CMLWorker
from infrastructure.read_model.hot_rows import HotRows
from infrastructure.read_model.projected import ProjectedEvent
from infrastructure.read_model.view import WorkerRow, WorkerViewBase
from infrastructure.store.event_store import FleetEventStore

CACHE_SIZE = 20_000
CREATION_EVENTS = (CMLWorker.Created, CMLWorker.Imported)


class AggregateCache:
    """The most recently used CMLWorker aggregates, at most ``capacity`` of them."""

    def __init__(self, capacity: int = CACHE_SIZE) -> None:
        self._capacity = capacity
        self._workers: OrderedDict[UUID, CMLWorker] = OrderedDict()

    def get(self, worker_id: UUID) -> CMLWorker | None:
        worker = self._workers.get(worker_id)
        if worker is not None:
            self._workers.move_to_end(worker_id)
        return worker

    def put(self, worker: CMLWorker) -> None:
        self._workers[worker.id] = worker
        self._workers.move_to_end(worker.id)
        if len(self._workers) > self._capacity:
            self._workers.popitem(last=False)

    def clear(self) -> None:
        self._workers.clear()


class WorkerProjection(Projection[WorkerViewBase]):
    """Upserts one row per worker and tracks the position, one transaction per batch."""

    name = "workers"

    def __init__(
        self,
        view: WorkerViewBase,
        store: FleetEventStore,
        idle: IdleDefaults,
        cache_size: int = CACHE_SIZE,
        hot: HotRows | None = None,
    ) -> None:
        super().__init__(view)
        self.store = store
        self.idle = idle
        self.cache = AggregateCache(cache_size)
        self.hot = hot if hot is not None else HotRows(0)
        self.costs = view.cost_fold()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """The library's entry point: one event in its own transaction."""
        self.apply([(tracking.notification_id, domain_event)], tracking)

    def process_batch(self, notifications: Sequence[Notification]) -> list[ProjectedEvent]:
        """Project stored events (in log order) in one transaction."""
        events = [(n.id, self.store.to_domain_event(n)) for n in notifications]
        return self.apply(events, Tracking(self.store.name, notifications[-1].id))

    def apply(self, events: Sequence[tuple[int, Any]], tracking: Tracking) -> list[ProjectedEvent]:
        try:
            projected: list[ProjectedEvent] = []
            last: dict[UUID, tuple[int, CMLWorker]] = {}
            for position, event in events:
                if isinstance(event, CMLWorker.Event):
                    worker = self._worker_after(event)
                    projected.append(ProjectedEvent.of(position, event, worker))
                    last[worker.id] = (position, worker)
            # Each worker's row from its state after its last event of the batch: one
            # DTO per worker, not per event (the aggregate is the same object all along).
            rows = [WorkerRow(map_worker_to_dto(w, self.idle), p) for p, w in last.values()]
            costs = self.costs.rows(projected) if self.view.records_costs else []
            self.view.write_with_costs(rows, tracking, costs)
        except BaseException:
            # A half-applied event may have left a cached aggregate inconsistent.
            self.cache.clear()
            self.costs.clear()
            self.hot.clear()
            raise
        self.hot.put((row.dto.id, row.position, row.json) for row in rows)
        return projected

    def _worker_after(self, event: CMLWorker.Event) -> CMLWorker:
        if isinstance(event, CREATION_EVENTS):
            worker = event.mutate(None)
        else:
            cached = self.cache.get(event.originator_id)
            if cached is not None and cached.version == event.originator_version - 1:
                worker = event.mutate(cached)
            else:
                worker = self.store.get_at(event.originator_id, event.originator_version)
        assert isinstance(worker, CMLWorker)
        self.cache.put(worker)
        return worker
