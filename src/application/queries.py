"""Queries (``Get…``/``List…``) and the read-model port they are answered from.

Queries return DTOs, never aggregates, and read only the read model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.costs import FleetCost, Prices
from application.dto import CMLWorkerDto

SORTABLE_FIELDS = ("name", "status", "region", "created_at", "updated_at", "instance_type")
CURSOR_PATTERN = rf"^({'|'.join(SORTABLE_FIELDS)})\.[ad]\.([0-9a-f]{{2}})*\.[0-9a-f]{{32}}$"
"""A page's ``next_cursor``: sort field, direction, the last sort value (UTF-8, in hex)
and the last worker id. Every string of this form is a cursor (a cursor made up by
hand is a position in that order, however odd), so only its form can be wrong."""
_CURSOR = re.compile(CURSOR_PATTERN)


@dataclass(frozen=True)
class Cursor:
    sort: str
    descending: bool
    value: str
    worker_id: str

    def encoded(self) -> str:
        direction = "d" if self.descending else "a"
        value = self.value.encode().hex()
        return f"{self.sort}.{direction}.{value}.{UUID(self.worker_id).hex}"

    @classmethod
    def decoded(cls, text: str) -> Cursor | None:
        """The cursor, or ``None`` when ``text`` is not one."""
        if not _CURSOR.match(text):
            return None
        sort, direction, value, worker = text.split(".")
        return cls(sort, direction == "d", bytes.fromhex(value).decode(errors="replace"),
                   str(UUID(worker)))  # fmt: skip


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
    teams: frozenset[str] | None = None
    """Only workers of these teams (``None``: every worker; empty: none): what the
    caller may see (``visibility``)."""


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

    def fleet_summary(self, teams: frozenset[str] | None = None) -> FleetSummary:
        """Counts by status of every worker, or only of the workers of ``teams``."""
        ...

    def fleet_costs(
        self,
        now: datetime,
        prices: Prices,
        per_worker: bool = False,
        teams: frozenset[str] | None = None,
    ) -> FleetCost:
        """Every worker's (or ``teams``' workers') running and saved hours, priced, as of
        ``now``."""
        ...

    def position(self) -> int:
        """The last event-log position the read model has fully applied."""
        ...

    # The answers as the JSON the projection stored (the mapper's DTO, serialized once
    # when the row was written): what the HTTP API sends as it is.

    def get_worker_json(self, query: GetWorker) -> str:
        """:meth:`get_worker`'s DTO as stored JSON; raises ``WorkerNotFound``."""
        ...

    def hot_worker_json(self, query: GetWorker) -> str | None:
        """The stored JSON of a row held in memory, else ``None`` (cheap: no I/O, may be
        called on the event loop)."""
        ...

    def list_workers_json(self, query: ListWorkers) -> str:
        """:meth:`list_workers`'s page as JSON (``items``, ``next_cursor``, ``total``,
        ``position``)."""
        ...


@dataclass(frozen=True)
class FleetReport:
    """``GET /api/fleet/summary``: the counts by status and the money."""

    summary: FleetSummary
    cost: FleetCost


def fleet_report(
    read_model: WorkerReadModel,
    prices: Prices,
    now: datetime,
    per_worker: bool,
    teams: frozenset[str] | None = None,
) -> FleetReport:
    """The fleet's counts and costs as of ``now`` (each worker's too with ``per_worker``),
    of every worker or only of ``teams``' workers."""
    return FleetReport(
        read_model.fleet_summary(teams), read_model.fleet_costs(now, prices, per_worker, teams)
    )
