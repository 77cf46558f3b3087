"""Queries (``Get…``/``List…``) and the read-model port they are answered from.

Queries return DTOs, never aggregates, and read only the read model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from application.dto import CMLWorkerDto

SORTABLE_FIELDS = ("name", "status", "region", "created_at", "updated_at", "instance_type")


@dataclass(frozen=True)
class GetWorker:
    worker_id: UUID


@dataclass(frozen=True)
class ListWorkers:
    """Filter, sort and page through workers. ``cursor`` comes from the previous page."""

    statuses: Sequence[str] = ()
    region: str | None = None
    text: str | None = None
    sort: str = "name"
    descending: bool = False
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class WorkerPage:
    """One page of workers; ``next_cursor`` is ``None`` on the last page."""

    items: tuple[CMLWorkerDto, ...]
    next_cursor: str | None
    total: int
    position: int


@dataclass(frozen=True)
class FleetSummary:
    """Counts of workers by status, at read-model ``position``."""

    total: int
    by_status: Mapping[str, int] = field(default_factory=dict)
    position: int = 0


class WorkerReadModel(Protocol):
    """Worker DTO rows kept up to date by the read-model projection."""

    def get_worker(self, query: GetWorker) -> CMLWorkerDto:
        """The worker's DTO; raises ``WorkerNotFound``."""
        ...

    def list_workers(self, query: ListWorkers) -> WorkerPage: ...

    def fleet_summary(self) -> FleetSummary: ...

    def position(self) -> int:
        """The last event-log position the read model has fully applied."""
        ...
