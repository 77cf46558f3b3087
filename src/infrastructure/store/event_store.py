"""The event store: an eventsourcing Application holding CMLWorker aggregates.

Implements the ``WorkerStore`` port (translating the library's errors into the
application's) and lets followers read the durable log by global position.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Notification, Recording

from application.commands.common import ConflictObserver
from application.errors import ConcurrencyConflict, WorkerNotFound
from domain.worker import CMLWorker
from infrastructure.shared.names import EVENT_STORE_NAME
from infrastructure.store.saved_workers import SavedWorkers
from infrastructure.store.transcodings import DOMAIN_TRANSCODINGS

SNAPSHOT_INTERVAL = 50


class FleetEventStore(Application[UUID]):
    """CMLWorker aggregates in an event log; ``env`` chooses POPO, SQLite or PostgreSQL."""

    name = EVENT_STORE_NAME
    snapshotting_intervals = {CMLWorker: SNAPSHOT_INTERVAL}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        cache_size: int = 0,
        conflict_observer: ConflictObserver | None = None,
    ) -> None:
        super().__init__(env)
        self._appended = threading.Condition()
        self._saved = SavedWorkers(cache_size)
        self.conflict_observer = conflict_observer  # told of each retried conflict

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in DOMAIN_TRANSCODINGS:
            transcoder.register(transcoding)

    # -- WorkerStore port ---------------------------------------------------

    def get(self, worker_id: UUID) -> CMLWorker:
        """The worker's current state, for a command to change and save.

        Starts from a copy of the worker as this process last saved it, when it is
        cached, brought up to date with any newer stored events (another process or
        thread may have written since): one small query instead of a replay.
        """
        worker: object = self._saved.copy_of(worker_id)
        try:
            if worker is None:
                worker = self.repository.get(worker_id, projector_func=_replay)
            else:
                assert isinstance(worker, CMLWorker)
                worker = _replay(worker, self.events.get(worker_id, gt=worker.version))
        except AggregateNotFoundError:
            raise WorkerNotFound(worker_id) from None
        assert isinstance(worker, CMLWorker)
        return worker

    def get_at(self, worker_id: UUID, version: int) -> CMLWorker:
        """The worker as it was at ``version`` (uses snapshots)."""
        worker: object = self.repository.get(worker_id, version=version)
        assert isinstance(worker, CMLWorker)
        return worker

    def save(self, *workers: Any) -> int:  # type: ignore[override]
        """Store pending events atomically; return the position of the last one."""
        recordings = self._store(workers)
        return recordings[-1].notification.id if recordings else self.max_position()

    def save_each(self, *workers: CMLWorker) -> list[int]:
        """:meth:`save`, answering the position of each worker's own last event (the
        end of the log for a worker with nothing to store), in the order given."""
        last = {r.domain_event.originator_id: r.notification.id for r in self._store(workers)}
        head = 0 if len(last) == len(workers) else self.max_position()
        return [last.get(worker.id, head) for worker in workers]

    def _store(self, workers: Sequence[Any]) -> list[Recording[UUID]]:
        if not any(worker.pending_events for worker in workers):
            return []  # the library would still open (and commit) an empty write transaction
        try:
            recordings = super().save(*workers)
        except IntegrityError:
            raise ConcurrencyConflict(workers[0].id if workers else "?", 1) from None
        if recordings:
            self._saved.remember(workers)
            with self._appended:
                self._appended.notify_all()
        return recordings

    # -- the durable log ----------------------------------------------------

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def read_log(self, after: int, limit: int) -> Sequence[Notification]:
        """Stored events with a position greater than ``after``, in order."""
        return self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )

    def to_domain_event(self, notification: Notification) -> DomainEventProtocol[UUID]:
        return self.mapper.to_domain_event(notification)

    def wake(self) -> None:
        """Wake every thread blocked in :meth:`wait_for_append` (e.g. to stop promptly)."""
        with self._appended:
            self._appended.notify_all()

    def wait_for_append(self, after: int, timeout: float) -> None:
        """Block until an in-process save goes beyond ``after`` or the timeout passes.

        Writes by other processes are seen by the caller's next poll; on PostgreSQL they
        also wake it at once (``infrastructure.shared.postgres.notify`` calls :meth:`wake` on
        each NOTIFY the event recorder sends).
        """
        with self._appended:
            if self.max_position() <= after:
                self._appended.wait(timeout)

    # -- history (application.history.EventHistory port) --------------------

    def worker_events(
        self, worker_id: UUID, *, before_version: int | None, limit: int
    ) -> Sequence[DomainEventProtocol[UUID]]:
        """Up to ``limit`` of a worker's events below ``before_version``, newest first."""
        lte = None if before_version is None else before_version - 1
        events = list(self.events.get(worker_id, lte=lte, desc=True, limit=limit))
        if not events and not list(self.events.get(worker_id, limit=1)):
            raise WorkerNotFound(worker_id)
        return events


def _replay(worker: Any, events: Any) -> Any:
    """The library's ``project_aggregate`` without its per-event runtime Protocol check."""
    for event in events:
        worker = event.mutate(worker)
    return worker
