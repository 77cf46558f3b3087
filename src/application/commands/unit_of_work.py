"""Several commands on one worker, saved once; several workers, saved together.

The command handlers stay the one place for the rules: a *recording* runs them,
unchanged, against ``OneWorker``, a ``WorkerStore`` over one loaded aggregate that
keeps their events pending. The worker is then saved once: alone, with the usual
reload-and-retry (``record_alone``), or with other workers in one transaction
(``record_together``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from uuid import UUID

from application.commands.common import CommandResult, change_worker, retrying
from application.errors import ConcurrencyConflict, WorkerNotFound
from application.ports import WorkerStore
from domain.worker import CMLWorker

Recording = Callable[[WorkerStore], Sequence[CommandResult]]
"""Runs command handlers for one worker against the store it is given. It may run
again (after a conflict), so it must start from what that store holds."""

Outcome = list[CommandResult] | Exception
"""A recording's results (positions filled in), or the error that stopped it."""


class OneWorker:
    """A ``WorkerStore`` over one loaded worker: ``get`` returns it, ``save`` keeps its
    events pending and returns 0 (the real save's position is filled in later)."""

    def __init__(self, worker: CMLWorker) -> None:
        self.worker = worker

    def get(self, worker_id: UUID) -> CMLWorker:
        if worker_id != self.worker.id:
            raise WorkerNotFound(worker_id)
        return self.worker

    def save(self, *workers: CMLWorker) -> int:
        assert all(w is self.worker for w in workers), "a unit of work holds one worker"
        return 0

    def save_each(self, *workers: CMLWorker) -> list[int]:
        return [self.save(worker) for worker in workers]


def record_alone(store: WorkerStore, worker_id: UUID, recording: Recording) -> list[CommandResult]:
    """Load once, run the recording, save once; on a concurrent write, reload and
    run it again (``change_worker``'s retry)."""
    results: list[CommandResult] = []

    def run(worker: CMLWorker) -> None:
        results[:] = recording(OneWorker(worker))

    saved = change_worker(store, worker_id, run, "")
    return [replace(r, position=saved.position) for r in results]


def record_together(
    store: WorkerStore, recordings: Sequence[tuple[UUID, Recording]]
) -> list[Outcome]:
    """Each worker loaded once and its recording run; the changed workers saved in ONE
    transaction. If someone else changed one of them meanwhile, each changed worker is
    recorded alone instead, with the usual retry: nothing is lost, no conflict is
    swallowed. A worker whose recording fails is left out; the others are saved."""
    outcomes: list[Outcome] = []
    changed: dict[int, CMLWorker] = {}
    for index, (worker_id, recording) in enumerate(recordings):
        try:
            worker = store.get(worker_id)
            outcomes.append(list(recording(OneWorker(worker))))
        except Exception as error:  # this worker's alone (a bug included): others go on
            outcomes.append(error)
            continue
        if worker.pending_events:
            changed[index] = worker
    if changed:
        try:
            positions = store.save_each(*changed.values())
        except ConcurrencyConflict:
            for index in changed:  # each one is run again: a retry, as change_worker's
                retrying(store, recordings[index][0])
                outcomes[index] = _alone(store, *recordings[index])
        else:
            for index, position in zip(changed, positions, strict=True):
                outcomes[index] = _at(outcomes[index], position)
    # Recordings that changed nothing report the end of the log (what saving nothing
    # returns), as a lone command does: waiting for it shows the worker at least as new
    # as the state it saw.
    unchanged = [i for i, o in enumerate(outcomes) if i not in changed and isinstance(o, list)]
    if unchanged:
        head = store.save()
        for index in unchanged:
            outcomes[index] = _at(outcomes[index], head)
    return outcomes


def _alone(store: WorkerStore, worker_id: UUID, recording: Recording) -> Outcome:
    try:
        return record_alone(store, worker_id, recording)
    except Exception as error:  # as in record_together: this worker's alone
        return error


def _at(outcome: Outcome, position: int) -> Outcome:
    """The results with the position of the save that stored their events."""
    if isinstance(outcome, Exception):
        return outcome
    return [replace(r, position=position) for r in outcome]
