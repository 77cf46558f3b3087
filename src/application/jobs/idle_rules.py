"""Pure rules of the idle detection job: who is watched, whose pause is due, what
counts as activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.dto import CMLWorkerDto
from domain.status import WorkerStatus
from domain.values import ActivityRecord

LABS_RUNNING = "labs_running"


@dataclass(frozen=True)
class IdleRules:
    enabled: bool = True
    """Idle detection on for the fleet (each worker can still opt out)."""
    running_labs_signal: bool = True
    """Labs with running nodes count as activity."""
    activity_refresh: timedelta = timedelta(minutes=10)

    def watched(self, dto: CMLWorkerDto) -> bool:
        """Running, with idle detection on globally and on the worker."""
        running = dto.status == WorkerStatus.RUNNING.value
        return self.enabled and dto.idle_detection_enabled and running

    def labs_running(self, dto: CMLWorkerDto) -> bool:
        return self.running_labs_signal and (dto.running_nodes_count or 0) > 0

    def labs_activity_due(self, dto: CMLWorkerDto, now: datetime) -> bool:
        """Running labs, and their activity not recorded for a while."""
        if not self.labs_running(dto):
            return False
        last = _when(dto.last_activity_at)
        return last is None or now - last >= self.activity_refresh

    def pause_due(self, dto: CMLWorkerDto, now: datetime) -> bool:
        """The countdown has run out (and no lab is running)."""
        due = _when(dto.auto_pause_due_at)
        return due is not None and due <= now and not self.labs_running(dto)


def labs_running(now: datetime, nodes: int) -> ActivityRecord:
    """Labs with running nodes, as an activity at ``now``."""
    return ActivityRecord(at=now, kind=LABS_RUNNING, detail=f"{nodes} nodes running")


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
