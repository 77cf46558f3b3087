"""What the projection hands on: a stored event, its position and what the worker was
right after it (the fold of costs, the listeners and the SSE hub take it)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.worker import CMLWorker


@dataclass(frozen=True, slots=True)
class ProjectedEvent:
    """A stored event, its log position, and the worker's facts right after it: what
    the cost ledger, the team index and the hub's visibility need of each event. The
    worker's full DTO is mapped once per batch, for its row (a DTO per event was most
    of a rebuild's time)."""

    position: int
    event: CMLWorker.Event
    worker_id: str
    name: str
    instance_type: str
    status: str
    team: str | None

    @classmethod
    def of(cls, position: int, event: CMLWorker.Event, worker: CMLWorker) -> ProjectedEvent:
        """``event`` at ``position``, with ``worker`` as it left it."""
        return cls(
            position,
            event,
            str(worker.id),
            worker.name,
            worker.instance_type,
            worker.status.value,
            worker.team,
        )
