"""What every command handler shares: its result and the load-change-save loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from application.errors import ConcurrencyConflict
from application.ports import WorkerStore
from domain.cause import Cause
from domain.worker import CMLWorker

MAX_ATTEMPTS = 5


class Caused:
    """A command's cause: who sent it (``actor``) and in which request."""

    actor: str
    correlation_id: str

    @property
    def cause(self) -> Cause:
        return Cause(self.actor, self.correlation_id)


@dataclass(frozen=True)
class WorkerCommand(Caused):
    """A command on one existing worker, by someone, for a traceable reason."""

    worker_id: UUID
    actor: str
    correlation_id: str


@dataclass(frozen=True)
class CommandResult:
    """What a command reports back: the log position to wait for (read-your-writes)."""

    worker_id: UUID
    position: int
    correlation_id: str
    changed: bool


class ConflictObserver(Protocol):
    """Hears of every optimistic-concurrency conflict that a command retries."""

    def conflict_retried(self, worker_id: UUID) -> None: ...


def change_worker(
    store: WorkerStore,
    worker_id: UUID,
    change: Callable[[CMLWorker], object],
    correlation_id: str,
    attempts: int = MAX_ATTEMPTS,
) -> CommandResult:
    """Load, change, save; on a concurrent write reload and re-run the change.

    Each re-run is told to the store's ``conflict_observer``, when it has one (the
    composition root gives it a counter for ``/metrics``). Domain errors raised by
    ``change`` propagate at once (nothing is saved).
    """
    for attempt in range(1, attempts + 1):
        worker = store.get(worker_id)
        change(worker)
        changed = bool(worker.pending_events)
        try:
            position = store.save(worker)
        except ConcurrencyConflict:
            if attempt < attempts:
                retrying(store, worker_id)
            continue
        return CommandResult(worker_id, position, correlation_id, changed)
    raise ConcurrencyConflict(worker_id, attempts)


def change(
    store: WorkerStore, cmd: WorkerCommand, what: Callable[[CMLWorker], object]
) -> CommandResult:
    """The plain path of a command on a worker: load it, change it (``what``), save it."""
    return change_worker(store, cmd.worker_id, what, cmd.correlation_id)


def retrying(store: WorkerStore, worker_id: UUID) -> None:
    """Tell the store's ``conflict_observer`` (if any) that a change is run again."""
    observer: ConflictObserver | None = getattr(store, "conflict_observer", None)
    if observer is not None:
        observer.conflict_retried(worker_id)


def add_worker(store: WorkerStore, worker: CMLWorker, correlation_id: str) -> CommandResult:
    return CommandResult(worker.id, store.save(worker), correlation_id, True)
