"""A spy on the ``WorkerStore`` port (the real store behind it) and small recordings,
for the batching, group-commit and job tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from application.commands.batching import Recording
from application.commands.common import CommandResult
from application.commands.lifecycle import ImportWorker, import_worker
from application.commands.settings import ChangeTags, change_tags
from application.ports import WorkerStore
from domain.status import WorkerStatus
from domain.worker import CMLWorker
from infrastructure.store.event_store import FleetEventStore


class SpyStore:
    """The real store behind the ``WorkerStore`` port, noting each load and save;
    ``race`` runs once, just before the first save that holds ``race_on``."""

    def __init__(self, real: FleetEventStore) -> None:
        self.real = real
        self.loads: list[UUID] = []
        self.saves: list[tuple[UUID, ...]] = []
        self.race: Callable[[], object] | None = None
        self.race_on: UUID | None = None
        self.retried: list[UUID] = []  # what the handlers told the conflict observer
        self.conflict_observer = self

    def conflict_retried(self, worker_id: UUID) -> None:
        self.retried.append(worker_id)

    def get(self, worker_id: UUID) -> CMLWorker:
        self.loads.append(worker_id)
        return self.real.get(worker_id)

    def save(self, *workers: CMLWorker) -> int:
        self.saving(workers)
        return self.real.save(*workers)

    def save_each(self, *workers: CMLWorker) -> list[int]:
        self.saving(workers)
        return self.real.save_each(*workers)

    def saving(self, workers: tuple[CMLWorker, ...]) -> None:
        if self.race is not None and self.race_on in {w.id for w in workers}:
            race, self.race = self.race, None
            race()
        if workers:  # saving nothing writes nothing (it answers the end of the log)
            self.saves.append(tuple(w.id for w in workers))


def a_worker(store: FleetEventStore, name: str = "w") -> UUID:
    result = import_worker(
        ImportWorker(
            instance_id=f"i-{name}",
            name=name,
            region="eu-west-1",
            instance_type="m5.xlarge",
            status=WorkerStatus.RUNNING,
            actor="alice",
            correlation_id="c-import",
        ),
        store,
    )
    return result.worker_id


def tagging(worker_id: UUID, actor: str, **tags: str) -> Recording:
    """A recording of one command: ``actor`` adds ``tags``."""

    def record(store: WorkerStore) -> Sequence[CommandResult]:
        return [change_tags(ChangeTags(worker_id, actor, f"c-{actor}", add=tags), store)]

    return record
