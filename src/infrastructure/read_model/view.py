"""What the read model needs of a worker view, whatever keeps it: a row per worker
(its DTO as JSON) and the log position the rows reflect, written together. The
backends: ``sqlite.view`` and ``postgres.view``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from eventsourcing.persistence import Tracking, TrackingRecorder

from application.dto import CMLWorkerDto
from application.queries import ListWorkers
from infrastructure.read_model.codec import search_text, to_json
from infrastructure.read_model.costs import CostFold, CostFolding
from infrastructure.read_model.listing import ListingSql


@dataclass(frozen=True)
class WorkerRow:
    """A worker's DTO at log ``position``, ready to store."""

    dto: CMLWorkerDto
    position: int

    def columns(self) -> tuple[object, ...]:
        d = self.dto
        return (
            *(d.id, d.name, d.status, d.region, d.instance_type, d.created_at, d.updated_at),
            *(d.version, search_text(d), self.position),
        )

    @cached_property
    def json(self) -> str:
        """The DTO as stored (encoded once, for the view and the hot rows)."""
        return to_json(self.dto)

    def document(self) -> tuple[object, ...]:
        return self.dto.id, self.position, self.json


class WorkerViewBase(TrackingRecorder, ABC):
    """What the read model needs of a view: SQLite here, PostgreSQL in
    ``infrastructure.read_model.postgres.view``. Each read returns the position it reflects."""

    application_name: str

    @abstractmethod
    def write(self, rows: Sequence[WorkerRow], tracking: Tracking) -> None: ...

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def position(self) -> int: ...

    @abstractmethod
    def get(self, worker_id: str) -> tuple[int, str] | None:
        """The worker's (position, DTO JSON), if it has a row."""

    @abstractmethod
    def recent(self, limit: int) -> list[tuple[str, int, str]]:
        """(id, position, DTO JSON) of the ``limit`` most recently changed workers."""

    @abstractmethod
    def listing(self, query: ListWorkers) -> ListingSql:
        """The SQL of a page of ``query`` in this database's dialect."""

    @abstractmethod
    def page(self, sql: ListingSql) -> tuple[list[tuple[str, str, str]], int, int]: ...

    @abstractmethod
    def counts_by_status(self) -> tuple[dict[str, int], int]: ...

    def select(
        self, worker_ids: Sequence[str] | None, *, include_terminated: bool = True
    ) -> tuple[list[str], int]:
        """DTO JSON of the given workers (all when ``None``) by name, and the position."""
        found, position = self.documents(
            worker_ids, include_terminated=include_terminated, teams=False
        )
        return [text for _, _, text in found], position

    @abstractmethod
    def documents(
        self,
        worker_ids: Sequence[str] | None,
        *,
        include_terminated: bool = True,
        teams: bool = True,
    ) -> tuple[list[tuple[str, str | None, str]], int]:
        """(id, team, DTO JSON) of the given workers (all when ``None``) by name, and
        the position they reflect. ``teams=False``: the team is not read (``None``), which
        spares reading it out of every row's JSON."""

    @abstractmethod
    def close(self) -> None: ...

    # Cost ledgers (application.costs), one per worker. A view that keeps them says so
    # and writes them in the same transaction as the rows; the others have none.
    records_costs = False

    def write_with_costs(
        self, rows: Sequence[WorkerRow], tracking: Tracking, costs: Sequence[tuple[str, str]]
    ) -> None:
        """:meth:`write`, plus (worker id, ledger JSON) rows where costs are kept."""
        self.write(rows, tracking)

    def cost_fold(self) -> CostFolding:
        """How this view's cost ledgers are folded from a batch: from the ledgers it
        holds, kept between batches (one writer)."""
        return CostFold(self.ledgers)

    def ledgers(self, worker_ids: Iterable[str]) -> dict[str, str]:
        """Cost ledger JSON of the given workers that have one."""
        return {}

    def all_ledgers(self) -> tuple[list[str], int]:
        """Every cost ledger's JSON, and the position they reflect."""
        return [], self.position()
