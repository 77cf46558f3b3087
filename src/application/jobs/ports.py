"""What the jobs need besides the cloud and CML ports: the read side, the snapshot
fan-out and the utilization history (calling synchronous code: ``ports.RunSync``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.dto import CMLWorkerDto
from application.labs import LabsChanged


class FleetView(Protocol):
    """The read model, as the jobs use it (synchronous except ``wait_until``)."""

    def all_workers(self, include_terminated: bool = False) -> tuple[CMLWorkerDto, ...]:
        """Every worker, by name; without ``include_terminated`` only the managed ones
        (neither terminated nor released)."""
        ...

    def snapshot(self, worker_ids: Sequence[str] | None) -> tuple[tuple[CMLWorkerDto, ...], int]:
        """DTOs (all when ``None``) and the log position they reflect, read together."""
        ...

    async def wait_until(self, position: int, timeout: float) -> bool:
        """Wait until the read model has applied ``position``; False on timeout."""
        ...


class SnapshotSink(Protocol):
    """The SSE hub: sends full ``worker.snapshot`` frames (called on the event loop)."""

    def broadcast_snapshots(self, dtos: Sequence[CMLWorkerDto], position: int) -> object: ...

    def broadcast_labs(self, changes: Sequence[LabsChanged]) -> object:
        """Send ``worker.labs.changed`` frames (not in the log); may answer an awaitable
        done once they are queued."""
        ...


@dataclass(frozen=True)
class UtilizationSample:
    """One raw utilization reading of a worker, for charts (never an event)."""

    worker_id: str
    at: datetime
    cpu_percent: float | None
    memory_percent: float | None
    disk_percent: float | None


class UtilizationHistory(Protocol):
    """A bounded time series of samples on the read side."""

    def append(self, samples: Sequence[UtilizationSample]) -> None: ...

    def prune(self, before: datetime) -> int:
        """Forget samples older than ``before``; returns how many went."""
        ...

    def samples(
        self, worker_id: str, since: datetime | None = None, limit: int = 10_000
    ) -> tuple[UtilizationSample, ...]:
        """A worker's samples at or after ``since``, oldest first."""
        ...
