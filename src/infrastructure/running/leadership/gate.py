"""The :class:`LeaderGate`: starts the leader parts once this process is elected, stops
them if it is deposed."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import anyio.to_thread

from infrastructure.running.leadership.port import Election, LeaderStatus, ProcessIdentity

log = logging.getLogger(__name__)


class LeaderGate:
    """Starts the leader parts while this process leads, stops them when it stops leading."""

    def __init__(self, election: Election, identity: ProcessIdentity) -> None:
        self.election = election
        self.identity = identity
        self._parts: tuple[Any, ...] = ()
        self._running: list[Any] = []
        self._leading = False
        self._changes: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._elected = False  # the watcher thread's view
        self._changed = threading.Condition()

    @property
    def is_leader(self) -> bool:
        """True while the leader parts run in this process."""
        return self._leading

    def wait_until_leading(self, leading: bool, timeout: float) -> bool:
        """Block until the leader parts run here (or, ``leading=False``, no longer do)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.is_leader == leading, timeout)

    @property
    def can_run_leader_work(self) -> bool:
        """May this process run a job now (e.g. "run now")? The sole process always may;
        one of several only while it leads."""
        return self.election.retry_seconds is None or self.is_leader

    async def start(self, parts: Sequence[Any]) -> None:
        """Try to lead now; keep trying (or checking) in a thread if the election asks."""
        self._parts = tuple(p for p in parts if p is not None)
        self._loop = asyncio.get_running_loop()
        self._changes = asyncio.Lock()
        self._elected = await anyio.to_thread.run_sync(self.election.try_lead, self.identity)
        if self._elected:
            await self._apply(True)
        if self.election.retry_seconds is not None:
            self._stopping = threading.Event()
            self._watcher = threading.Thread(
                target=self._watch, args=(self._stopping,), name="leader-election", daemon=True
            )
            self._watcher.start()

    async def stop(self) -> None:
        """Stop the leader parts (if running) and give up the lead."""
        self._stopping.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            await anyio.to_thread.run_sync(watcher.join, 5.0)
        await self._apply(False)
        await anyio.to_thread.run_sync(self.election.resign)

    def status(self) -> LeaderStatus:
        """Who leads (asks the election: blocking) and whether this process does."""
        return LeaderStatus(
            self.election.kind, self.identity, self.is_leader, self.election.leader()
        )

    # -- the watcher thread --------------------------------------------------------

    def _watch(self, stopping: threading.Event) -> None:
        interval = self.election.retry_seconds or 1.0
        while not stopping.wait(interval):
            try:
                self._look(stopping)
            except Exception:  # the watcher must outlive a failing election call
                log.exception("leader election: check failed")

    def _look(self, stopping: threading.Event) -> None:
        if self._elected:
            if not self.election.still_leading():
                log.warning("this process lost the lead: stopping the jobs and the reactor")
                self._elected = False
                self._tell(False)
        elif not stopping.is_set() and self.election.try_lead(self.identity):
            log.info("this process now leads: starting the jobs and the reactor")
            self._elected = True
            self._tell(True)

    def _tell(self, leading: bool) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            change = asyncio.run_coroutine_threadsafe(self._apply(leading), loop)
        except RuntimeError:  # the loop has closed: the process is ending
            log.debug("leader election: loop closed")
            return
        change.add_done_callback(_log_failure)

    # -- on the loop ----------------------------------------------------------------

    async def _apply(self, leading: bool) -> None:
        assert self._changes is not None
        async with self._changes:  # one change at a time, in the order they came
            if leading and not self._leading:
                self._leading = True
                await self._start_parts()
            elif not leading and self._leading:
                self._leading = False
                await self._stop_parts()
        with self._changed:
            self._changed.notify_all()

    async def _start_parts(self) -> None:
        for part in self._parts:
            if hasattr(part, "start"):
                result = part.start()
                if hasattr(result, "__await__"):
                    await result
            self._running.append(part)

    async def _stop_parts(self) -> None:
        while self._running:
            part = self._running.pop()
            if hasattr(part, "stop"):
                result = part.stop()
                if hasattr(result, "__await__"):
                    await result


def _log_failure(change: Future[None]) -> None:
    if not change.cancelled() and change.exception() is not None:
        log.error("leader parts failed to start or stop", exc_info=change.exception())
