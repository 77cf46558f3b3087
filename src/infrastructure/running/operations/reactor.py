"""The operations reactor: follows the event log and carries out requested operations.

Delivery is at least once: the tracked position (:mod:`.tracking`) moves past an
operation only after its outcome is recorded, and only once every operation before it
is settled too (the lowest unsettled position, minus one). After a crash, whatever
was in flight is carried out again; the engine checks the real state first and finds
the effect already there, so each operation takes effect exactly once.

Operations on different workers run concurrently (bounded); one worker's run one
after the other, in log order. The log is read in a thread; when it is quiet the
reader waits on the event store's in-process append signal (with a short timeout for
writes by other processes).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import random
import time
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread

from application.operations.engine import OperationEngine
from application.operations.requests import REQUEST_TOPICS, Operation, operation_for
from application.operations.retry import RetryPolicy
from application.ports import RunSync
from infrastructure.running.operations.tracking import PositionTracker
from infrastructure.store.event_store import FleetEventStore

log = logging.getLogger(__name__)

BATCH_SIZE = 500
IDLE_WAIT_SECONDS = 0.5
MAX_PENDING = 5000
COMMIT_INTERVAL_SECONDS = 0.25
INTERNAL_RETRY = RetryPolicy(attempts=4, base=0.5, cap=10.0)


class OperationsReactor:
    """Start it once per deployment (a leader part); safe to stop and start again."""

    def __init__(
        self,
        *,
        store: FleetEventStore,
        engine: OperationEngine,
        tracker: PositionTracker,
        run_sync: RunSync,
        concurrency: int = 16,
        batch_size: int = BATCH_SIZE,
        max_pending: int = MAX_PENDING,
        internal_retry: RetryPolicy = INTERNAL_RETRY,
    ) -> None:
        self.store, self.engine, self.tracker = store, engine, tracker
        self.run_sync = run_sync
        self.concurrency = max(1, concurrency)
        self.batch_size, self.max_pending = batch_size, max_pending
        self.internal_retry = internal_retry
        self.settled = 0  # operations carried out since start (for the admin and tests)
        self.read_failures = 0  # reads of the log that failed in a row (for health)
        self._dispatched_at: dict[int, float] = {}  # position -> monotonic time, in flight
        self._reset(0)
        self._main: asyncio.Task[None] | None = None
        self._committer: asyncio.Task[None] | None = None

    def _reset(self, position: int) -> None:
        self._read_head = self._saved = position
        self._pending: list[int] = []  # heap of unsettled positions
        self._settled_positions: set[int] = set()
        self._tails: dict[UUID, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatched_at = {}
        self._stopping = False

    # ------------------------------------------------------------- lifecycle

    @property
    def running(self) -> bool:
        return self._main is not None

    async def start(self) -> None:
        """Resume from the tracked position (needs the running event loop)."""
        if self._main is not None:
            return
        self._reset(await self.run_sync(self.tracker.position))
        self._limit = asyncio.Semaphore(self.concurrency)
        self._room = asyncio.Event()
        self._room.set()
        self._dirty = asyncio.Event()
        self._tick = asyncio.Event()
        self._waiting = anyio.CapacityLimiter(1)  # the one thread that waits for appends
        self._main = asyncio.create_task(self._follow(), name="operations-reactor")
        self._committer = asyncio.create_task(self._commit_loop(), name="reactor-commit")
        log.info("operations reactor started at position %d", self._read_head)

    async def stop(self) -> None:
        """Stop reading, cancel what is in flight (it runs again after a restart), and
        record how far everything is settled."""
        if self._main is None:
            return
        self._stopping = True
        self.store.wake()
        tasks = [self._main, *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._committer is not None:
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
        await self._commit()
        self._main = self._committer = None
        log.info("operations reactor stopped at position %d", self._saved)

    # ------------------------------------------------------------- progress

    def position(self) -> int:
        """Every operation up to here is settled (in memory; :meth:`saved` is on disk)."""
        while self._pending and self._pending[0] in self._settled_positions:
            self._settled_positions.discard(heapq.heappop(self._pending))
        return self._pending[0] - 1 if self._pending else self._read_head

    @property
    def saved(self) -> int:
        return self._saved

    @property
    def in_flight(self) -> int:
        return len(self._pending) - len(self._settled_positions)

    async def wait_until(self, position: int, timeout: float) -> bool:
        """True once every operation up to ``position`` is settled; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while self.position() < position:
                    await self._tick.wait()
        except TimeoutError:
            return False
        return True

    def _progressed(self) -> None:
        self._dirty.set()
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()
        if self.in_flight < self.max_pending:
            self._room.set()

    async def _commit_loop(self) -> None:
        # At most one tracking write per COMMIT_INTERVAL_SECONDS: under a stream of
        # commands that request nothing, a write per event would cost as much as the
        # command itself. Re-reading a few events after a crash is harmless: effects
        # are idempotent and checked against the real state before acting.
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self._commit()
            await asyncio.sleep(COMMIT_INTERVAL_SECONDS)

    async def _commit(self) -> None:
        low = self.position()
        if low > self._saved:
            await self.run_sync(self.tracker.advance, low)
            self._saved = low

    # ---------------------------------------------------------------- reading

    async def _follow(self) -> None:
        while not self._stopping:
            await self._room.wait()
            try:
                ops, last = await self.run_sync(self._read, self._read_head)
            except Exception:  # the store may be briefly unavailable: never stop following
                if self.read_failures == 0:
                    log.exception("operations reactor: reading the log failed; retrying")
                self.read_failures += 1
                await asyncio.sleep(IDLE_WAIT_SECONDS)
                continue
            if self.read_failures:
                log.info("operations reactor reads the log again")
            self.read_failures = 0
            if last == self._read_head:
                await anyio.to_thread.run_sync(
                    self.store.wait_for_append,
                    self._read_head,
                    IDLE_WAIT_SECONDS,
                    abandon_on_cancel=True,
                    limiter=self._waiting,
                )
                continue
            for op in ops:
                self._dispatch(op)
            self._read_head = last
            if self.in_flight >= self.max_pending:
                self._room.clear()
            self._progressed()

    def _read(self, after: int) -> tuple[list[Operation], int]:
        """The next batch's operations and the last position read (in a thread).
        Only events that may request an operation are decoded."""
        notifications = self.store.read_log(after, self.batch_size)
        ops = []
        for n in notifications:
            if n.topic in REQUEST_TOPICS:
                op = operation_for(self.store.to_domain_event(n), n.id)
                if op is not None:
                    ops.append(op)
        return ops, (notifications[-1].id if notifications else after)

    # -------------------------------------------------------------- carrying out

    def oldest_in_flight_seconds(self) -> float:
        """How long the oldest operation still in flight has been (0: none)."""
        started = min(self._dispatched_at.values(), default=None)
        return 0.0 if started is None else time.monotonic() - started

    def _dispatch(self, op: Operation) -> None:
        heapq.heappush(self._pending, op.position)
        self._dispatched_at[op.position] = time.monotonic()
        previous = self._tails.get(op.worker_id)
        task = asyncio.create_task(self._run(op, previous), name=f"operation:{op.position}")
        self._tails[op.worker_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(functools.partial(self._forget_tail, op.worker_id))

    def _forget_tail(self, worker_id: UUID, task: asyncio.Task[Any]) -> None:
        if self._tails.get(worker_id) is task:
            del self._tails[worker_id]

    async def _run(self, op: Operation, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # one worker's operations in log order
        async with self._limit:
            settled = await self._carry_out(op)
        if settled:
            self.settled += 1
            self._dispatched_at.pop(op.position, None)
            self._settled_positions.add(op.position)
            self._progressed()

    async def _carry_out(self, op: Operation) -> bool:
        """Carry ``op`` out; an unexpected error (a bug, the store down) is retried a
        few times, then recorded as the operation's failure. Returns whether settled."""
        context: dict[str, object] = {"worker_id": str(op.worker_id), "position": op.position}
        context |= {"operation": op.kind.value, "correlation_id": op.correlation_id}
        retry = self.internal_retry
        for attempt in range(retry.attempts):
            try:
                outcome = await self.engine.carry_out(op)
            except Exception:
                log.exception("operation %s failed unexpectedly", op.kind.value, extra=context)
                await asyncio.sleep(retry.delay(attempt, random.random()))
                continue
            log.info(
                "operation %s on %s: %s %s",
                op.kind.value,
                op.worker_id,
                outcome.result.value,
                outcome.detail,
                extra=context | {"outcome": outcome.result.value},
            )
            return True
        try:
            await self.engine.give_up(op, "internal error in cml-fleet; see the server log")
        except Exception:
            log.exception("operation %s could not be settled", op.kind.value, extra=context)
            return False  # stays unsettled: carried out again after a restart
        return True
