"""Group commit: the recordings of many workers in few transactions.

Workers ready to record queue up here. One drain task at a time takes up to
``batch_size`` of them into one thread, where ``batching.record_together`` runs their
recordings (the command handlers, each loading, changing and saving its worker through
the ``WorkerStore`` port) with their saves in one transaction. While a batch runs, the
next workers queue, so batches grow with the load and no timer is needed; a lone
command is a batch of one.

Two instances: the metrics job's, and the one operator commands (HTTP) go through.
Each holds one store thread at a time and each transaction stays short, so a cycle of
the job never makes an operator's command wait behind a whole batch of its workers.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Sequence
from uuid import UUID

from application.commands.batching import Outcome, Recording, record_together
from application.commands.common import CommandResult
from application.ports import RunSync, WorkerStore

_Waiting = tuple[UUID, Recording, "asyncio.Future[list[CommandResult]]"]

BATCH_SIZE = 64


class GroupCommit:
    """Records workers in batches, one batch at a time, off the event loop."""

    def __init__(self, store: WorkerStore, run_sync: RunSync, batch_size: int = BATCH_SIZE):
        self.store, self.run_sync, self.batch_size = store, run_sync, max(1, batch_size)
        # Each waiting worker's recordings in arrival order; workers in the order of
        # their turns (a worker goes to the back after each turn).
        self._waiting: OrderedDict[UUID, deque[_Waiting]] = OrderedDict()
        self._drain: asyncio.Task[None] | None = None

    async def record(self, worker_id: UUID, recording: Recording) -> list[CommandResult]:
        """The recording's results once its worker is saved; raises what stopped it
        (``ConcurrencyConflict`` after the retries, a domain error, ...)."""
        future: asyncio.Future[list[CommandResult]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(worker_id, deque()).append((worker_id, recording, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._drain_waiting())
        return await future

    async def _drain_waiting(self) -> None:
        try:
            while batch := self._next_batch():
                await self._record(batch)
        finally:  # cancelled: nobody is left waiting for ever
            for waiting in self._waiting.values():
                for _, _, future in waiting:
                    future.cancel()
            self._waiting.clear()

    def _next_batch(self) -> list[_Waiting]:
        """Up to ``batch_size`` recordings, at most one per worker: a worker's next
        recording waits for the next batch (in one transaction the two would conflict,
        and both be recorded again alone). Workers take turns, so one busy worker
        neither holds the others back nor costs more than its turn to pass over."""
        batch: list[_Waiting] = []
        in_batch: set[UUID] = set()
        while self._waiting and len(batch) < self.batch_size:
            worker_id, waiting = next(iter(self._waiting.items()))
            if worker_id in in_batch:
                break  # every waiting worker has had its turn in this batch
            entry = waiting.popleft()
            if waiting:
                self._waiting.move_to_end(worker_id)
            else:
                del self._waiting[worker_id]
            if not entry[2].done():  # else its turn was cancelled
                in_batch.add(worker_id)
                batch.append(entry)
        return batch

    async def _record(self, batch: Sequence[_Waiting]) -> None:
        recordings = [recording for _, recording, _ in batch]
        outcomes: Sequence[Outcome]
        try:
            outcomes = await self.run_sync(record_together, self.store, recordings)
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as error:  # a bug: every worker of the batch reports it
            outcomes = [error] * len(batch)
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
