"""What every command handler shares: its result and the load-change-save loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from application.errors import ConcurrencyConflict
from application.ports import WorkerStore
from domain.worker import CMLWorker

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class CommandResult:
    """What a command reports back: the log position to wait for (read-your-writes)."""

    worker_id: UUID
    position: int
    correlation_id: str
    changed: bool


def change_worker(
    store: WorkerStore,
    worker_id: UUID,
    change: Callable[[CMLWorker], object],
    correlation_id: str,
    attempts: int = MAX_ATTEMPTS,
) -> CommandResult:
    """Load, change, save; on a concurrent write reload and re-run the change.

    Domain errors raised by ``change`` propagate at once (nothing is saved).
    """
    for _ in range(attempts):
        worker = store.get(worker_id)
        change(worker)
        changed = bool(worker.pending_events)
        try:
            position = store.save(worker)
        except ConcurrencyConflict:
            continue
        return CommandResult(worker_id, position, correlation_id, changed)
    raise ConcurrencyConflict(worker_id, attempts)


def add_worker(store: WorkerStore, worker: CMLWorker, correlation_id: str) -> CommandResult:
    return CommandResult(worker.id, store.save(worker), correlation_id, True)
