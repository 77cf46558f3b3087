"""The follower: a daemon thread that feeds the event log to the projection.

It reads the log in batches after its position, projects each batch in one transaction,
then hands the batch to ``on_batch`` (waiters, listeners). With nothing new it blocks in
``store.wait_for_append``, which wakes at once on a save in this process; the timeout
picks up writes by other processes. A failing batch is logged and retried with back-off:
skipping it would leave the view wrong for good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from infrastructure.read_model.projected import ProjectedEvent
from infrastructure.read_model.projection import WorkerProjection
from infrastructure.store.event_store import FleetEventStore

log = logging.getLogger(__name__)

BATCH_SIZE = 500
IDLE_WAIT_SECONDS = 0.5
MIN_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 5.0

BatchHandler = Callable[[int, list[ProjectedEvent]], None]


class ProjectionFollower:
    """Keeps ``projection`` up to date with ``store``'s log, from ``position`` on."""

    def __init__(
        self,
        projection: WorkerProjection,
        store: FleetEventStore,
        on_batch: BatchHandler,
        position: int = 0,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.projection = projection
        self.store = store
        self.position = position
        self._on_batch = on_batch
        self._batch_size = batch_size
        # Held while a batch is processed, so catch_up/rebuild/stop never interleave with it.
        self.processing = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and not self._stopping.is_set():
            return  # already running
        # Each thread gets its own stop flag: one still ending its idle wait after a
        # stop() can never be revived by a later start().
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stopping,), name="read-model-follower", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop promptly: once this returns, no batch is running and none will start.

        The store's append wait is woken, so the thread ends at once (at worst within
        ``IDLE_WAIT_SECONDS`` if the wake-up raced its wait) without touching the view, so
        the view may be closed at once; :meth:`join` waits for the thread itself.
        """
        self._stopping.set()
        self.store.wake()  # out of its append wait at once
        # Let a batch in progress commit; bounded, in case the database hangs.
        if self.processing.acquire(timeout=STOP_TIMEOUT_SECONDS):
            self.processing.release()
        else:
            log.warning("read model: a batch is still running after %s s", STOP_TIMEOUT_SECONDS)

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def catch_up(self) -> int:
        """Project everything logged so far, in the caller's thread; returns the position."""
        with self.processing:
            while self.step():
                pass
            return self.position

    def step(self) -> int:
        """Project the next batch, if any; returns how many notifications it had."""
        with self.processing:
            notifications = self.store.read_log(after=self.position, limit=self._batch_size)
            if not notifications:
                return 0
            projected = self.projection.process_batch(notifications)
            self.position = notifications[-1].id
            self._on_batch(self.position, projected)
            return len(notifications)

    def _step_unless(self, stopping: threading.Event) -> int:
        with self.processing:
            return 0 if stopping.is_set() else self.step()

    def _run(self, stopping: threading.Event) -> None:
        backoff = MIN_BACKOFF_SECONDS
        while not stopping.is_set():
            try:
                processed = self._step_unless(stopping)
            except Exception as error:
                log.exception(
                    "read model: batch after position %d failed (%s); retrying in %.1f s",
                    self.position,
                    type(error).__name__,
                    backoff,
                )
                stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = MIN_BACKOFF_SECONDS
            if not processed:
                self.store.wait_for_append(after=self.position, timeout=IDLE_WAIT_SECONDS)
