"""What the projection hands on: a stored event, its position and the worker's DTO
after it (the fold of costs, the listeners and the SSE hub take it)."""

from __future__ import annotations

from dataclasses import dataclass

from application.dto import CMLWorkerDto
from domain.worker import CMLWorker


@dataclass(frozen=True)
class ProjectedEvent:
    """A stored event, its log position, and the worker's DTO right after it."""

    position: int
    event: CMLWorker.Event
    dto: CMLWorkerDto
