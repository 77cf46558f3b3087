"""Ports: what the use cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar, TypeVarTuple, Unpack
from uuid import UUID

# The cloud and CML ports live in their own modules (with their values); re-exported here.
from application.cloud import CloudMetrics as CloudMetrics
from application.cloud import CloudPort as CloudPort
from application.cloud import InstanceInfo as InstanceInfo
from application.cloud import StatusCheck as StatusCheck
from application.cml import CmlPort as CmlPort
from domain.worker import CMLWorker

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class RunSync(Protocol):
    """Runs a synchronous function off the event loop (``System.run_sync``)."""

    async def __call__(self, fn: Callable[[Unpack[Ts]], T], /, *args: *Ts) -> T: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class WorkerStore(Protocol):
    """The event store seen from the use cases: load and save CMLWorker aggregates."""

    def get(self, worker_id: UUID) -> CMLWorker:
        """The worker's current state; raises ``WorkerNotFound``."""
        ...

    def save(self, *workers: CMLWorker) -> int:
        """Store pending events atomically; raises ``ConcurrencyConflict`` on a race.

        Returns the global log position of the last stored event, or the current
        end of the log when there was nothing to store.
        """
        ...

    def save_each(self, *workers: CMLWorker) -> list[int]:
        """:meth:`save`, answering the position of each worker's own last event (the
        end of the log for one with nothing to store), in the order given."""
        ...
