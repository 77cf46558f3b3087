"""Batching behind the ``WorkerStore`` port: many workers' saves in one transaction.

A command handler loads, changes and saves its worker through the port, as it does
everywhere (``common.change``). ``record_together`` runs the recordings of a batch
(each one worker's handlers) against a ``Batch``, the port's batching adapter, each
recording in a greenlet of the calling thread. A recording's ``save`` hands its worker
to the batch and waits there while the next recording runs up to its own save; then
ONE transaction stores all of them, and each ``save`` returns the position of its own
last event, as the store's does. A recording that saves again (the metrics job runs
several handlers on a worker) waits for the batch's next transaction.

When the transaction loses a race (someone else wrote one of its workers), every save
in it raises ``ConcurrencyConflict`` into its handler, whose usual retry reloads and
changes the worker again; those retries are saved alone, each in its own transaction,
so one contended worker cannot use up its neighbours' attempts. Nothing is lost and no
conflict is swallowed: the handler's retry is the only one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from uuid import UUID

from greenlet import getcurrent, greenlet

from application.commands.common import CommandResult
from application.errors import ConcurrencyConflict
from application.ports import WorkerStore
from domain.worker import CMLWorker

Recording = Callable[[WorkerStore], Sequence[CommandResult]]
"""Runs the command handlers of one worker against the store it is given."""

Outcome = list[CommandResult] | Exception
"""A recording's results, or the error that stopped it."""

_Staged = tuple[CMLWorker, ...]


class Batch:
    """The ``WorkerStore`` the recordings of one batch see. ``get`` loads from the store
    (or hands back the worker this batch has just stored, unchanged since); ``save``
    waits for the batch's transaction and answers its own position."""

    def __init__(self, store: WorkerStore) -> None:
        self.store = store
        self.conflict_observer = getattr(store, "conflict_observer", None)
        self._stored: dict[UUID, CMLWorker] = {}

    def get(self, worker_id: UUID) -> CMLWorker:
        stored = self._stored.get(worker_id)
        if stored is not None and not stored.pending_events:
            return stored  # what this batch stored last: the worker is saved as it is
        return self.store.get(worker_id)

    def save(self, *workers: CMLWorker) -> int:
        if not any(worker.pending_events for worker in workers):
            return self.store.save()  # nothing to store: the end of the log
        answer: int | Exception = getcurrent().parent.switch(workers)
        if isinstance(answer, Exception):
            raise answer  # a lost race (the handler retries), or the store failed
        return answer

    def save_each(self, *workers: CMLWorker) -> list[int]:
        return [self.save(worker) for worker in workers]

    def store_together(self, staged: dict[int, _Staged]) -> dict[int, int | Exception]:
        """The staged saves in one transaction: each one's position, or all conflict (or
        all fail with the store's error)."""
        if not staged:
            return {}
        try:
            positions = iter(self.store.save_each(*(w for ws in staged.values() for w in ws)))
        except ConcurrencyConflict:  # their events are gone from them: reload each
            self._forget(staged.values())
            return {index: ConcurrencyConflict(ws[0].id, 1) for index, ws in staged.items()}
        except Exception as error:
            self._forget(staged.values())
            return dict.fromkeys(staged, error)
        answers: dict[int, int | Exception] = {
            index: max(next(positions) for _ in ws) for index, ws in staged.items()
        }
        self._remember(staged.values())
        return answers

    def store_alone(self, workers: _Staged) -> int | Exception:
        try:
            position = self.store.save(*workers)
        except Exception as error:  # a conflict (the handler retries) or the store's error
            self._forget([workers])
            return error
        self._remember([workers])
        return position

    def _remember(self, saves: Iterable[_Staged]) -> None:
        for workers in saves:
            for worker in workers:
                self._stored[worker.id] = worker

    def _forget(self, saves: Iterable[_Staged]) -> None:
        for workers in saves:
            for worker in workers:
                self._stored.pop(worker.id, None)


def record_together(store: WorkerStore, recordings: Sequence[Recording]) -> list[Outcome]:
    """Run the recordings (at most one per worker) so that their saves share
    transactions; each one's results, or the error that stopped it (the others go on)."""
    batch = Batch(store)
    runs = [greenlet(partial(recording, batch)) for recording in recordings]
    outcomes: list[Outcome] = [[] for _ in runs]
    waiting: dict[int, _Staged] = {}
    alone: set[int] = set()  # lost a race together: their retries are saved alone

    def resume(index: int, step: Callable[[], object]) -> None:
        try:
            staged = step()
        except Exception as error:  # this worker's alone (a bug included): others go on
            outcomes[index] = error
            return
        if runs[index].dead:
            outcomes[index] = list(staged)  # type: ignore[call-overload]
        else:
            waiting[index] = staged  # type: ignore[assignment]

    try:
        for index, run in enumerate(runs):
            resume(index, run.switch)
        while waiting:
            staged, waiting = waiting, {}
            answers = batch.store_together({i: w for i, w in staged.items() if i not in alone})
            answers.update({i: batch.store_alone(w) for i, w in staged.items() if i in alone})
            for index, answer in answers.items():
                if isinstance(answer, ConcurrencyConflict):
                    alone.add(index)
                resume(index, partial(runs[index].switch, answer))
    finally:  # none is left waiting in this thread (a greenlet dies in its own thread)
        for run in runs:
            if run:
                run.throw()
    return outcomes
