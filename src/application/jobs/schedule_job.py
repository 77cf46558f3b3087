"""The schedule job: workers that follow an office-hours schedule are started ahead of
hours and stopped (or paused) after them (``domain.schedule_rules.decide``).

A cycle reads the fleet from the read model and the schedules from their store, decides
for each following worker at the cycle's one ``now``, and asks for what is due as the
worker's own command, caused by ``schedule:<name>``: the worker's history says which
schedule acted, and the operations engine carries the start or stop out (crash-safe,
from the log). Deciding from the worker's status makes a cycle safe to repeat: a worker
asked to start is ``starting`` at the next one, and nothing more is asked. A worker whose
command is refused (its state changed meanwhile) or that names no known schedule is
counted, and the others go on. The commands of many workers are stored together, in one
transaction per batch (``commands.batching``): a boundary of 10,000 workers is recorded
in seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.commands.batching import Recording, record_together
from application.commands.common import CommandResult
from application.commands.lifecycle import (
    PauseWorker,
    ResumeWorker,
    StartWorker,
    StopWorker,
    pause_worker,
    resume_worker,
    start_worker,
    stop_worker,
)
from application.dto import CMLWorkerDto
from application.errors import ApplicationError
from application.jobs.moment import At
from application.jobs.notices import Notices, Warning
from application.jobs.ports import FleetView
from application.ports import Clock, RunSync, WorkerStore
from application.schedules import ScheduleStore
from domain.errors import DomainError
from domain.schedule_rules import UP, Action, WorkerNow, decide, down_at
from domain.schedules import Schedule
from domain.status import PauseReason, WorkerStatus

WARN_CONCURRENCY = 32
BATCH = 500
"""Workers whose commands are stored in one transaction."""


@dataclass(frozen=True)
class ScheduleReport:
    """What one cycle did."""

    at: datetime
    following: int
    """Workers with a ``cml-fleet:schedule`` tag."""
    unknown_schedules: tuple[str, ...]
    """Names that workers' tags give but no schedule has."""
    asked: int
    """Commands asked (start, resume, stop, pause)."""
    actions: tuple[str, ...]
    """``<worker id> <action>: <why>`` for each of them."""
    failures: int
    warned: int
    """Workers whose CML users were told when it goes down (system notices)."""
    duration_seconds: float


def is_paused(dto: CMLWorkerDto) -> bool:
    """Stopped by a pause that no resume followed."""
    if dto.status != WorkerStatus.STOPPED.value or dto.last_paused_at is None:
        return False
    return dto.last_resumed_at is None or dto.last_paused_at > dto.last_resumed_at


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _command(
    action: Action, worker: UUID, cause: tuple[str, str], clock: Clock
) -> Callable[[WorkerStore], CommandResult]:
    actor, correlation_id = cause
    match action:
        case "start":
            return lambda s: start_worker(StartWorker(worker, actor, correlation_id), s)
        case "stop":
            return lambda s: stop_worker(StopWorker(worker, actor, correlation_id), s)
        case "pause":
            pause = PauseWorker(worker, actor, correlation_id, reason=PauseReason.SCHEDULE)
            return lambda s: pause_worker(pause, s, clock)
        case "resume":
            resume = ResumeWorker(worker, actor, correlation_id, reason=PauseReason.SCHEDULE)
            return lambda s: resume_worker(resume, s, clock)


def _recording(command: Callable[[WorkerStore], CommandResult]) -> Recording:
    return lambda store: [command(store)]


class ScheduleJob:
    def __init__(
        self,
        *,
        store: WorkerStore,
        read_model: FleetView,
        schedules: ScheduleStore,
        run_sync: RunSync,
        notices: Notices | None = None,
    ) -> None:
        self.store, self.read_model, self.schedules = store, read_model, schedules
        self.run_sync, self.notices = run_sync, notices

    async def run(self, now: datetime) -> ScheduleReport:
        """One cycle at ``now``."""
        started = time.perf_counter()
        workers = await self.run_sync(self.read_model.all_workers)
        known: Mapping[str, Schedule] = {s.name: s for s in await self.run_sync(self.schedules.all)}
        following = [w for w in workers if w.schedule]
        unknown = sorted({str(w.schedule) for w in following if w.schedule not in known})
        due: list[tuple[str, str, Recording]] = []
        warnings: list[tuple[CMLWorkerDto, datetime, Warning]] = []
        for worker in following:
            schedule = known.get(str(worker.schedule))
            if schedule is None:
                continue
            status = WorkerStatus(worker.status)
            state = WorkerNow(
                status=status,
                paused=is_paused(worker),
                in_use=(worker.running_nodes_count or 0) > 0,
                override_until=_moment(worker.schedule_override_until),
                up_since=_moment(worker.status_changed_at) if status in UP else None,
            )
            decision = decide(schedule, state, now)
            down = down_at(schedule, state, now)
            if self.notices is not None and self.notices.due(worker, down, now):
                assert down is not None
                warnings.append((worker, down, _warning(schedule, down)))
            if decision.action is None:
                continue
            cause = (f"schedule:{schedule.name}", f"schedule-{schedule.name}-{now:%Y%m%dT%H%M}")
            command = _command(decision.action, UUID(worker.id), cause, At(now))
            due.append((worker.id, f"{decision.action}: {decision.why}", _recording(command)))
        actions, failures = [], 0
        for start in range(0, len(due), BATCH):  # many workers' commands per transaction
            chunk = due[start : start + BATCH]
            outcomes = await self.run_sync(record_together, self.store, [r for *_, r in chunk])
            for (worker_id, what, _), outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, DomainError | ApplicationError):
                    failures += 1  # its state changed meanwhile: the next cycle decides again
                elif isinstance(outcome, Exception):
                    raise outcome
                else:
                    actions.append(f"{worker_id} {what}")
        warned = await self._warn(warnings, now)
        return ScheduleReport(
            at=now,
            following=len(following),
            unknown_schedules=tuple(unknown),
            asked=len(actions),
            actions=tuple(actions),
            failures=failures,
            warned=warned,
            duration_seconds=time.perf_counter() - started,
        )

    async def _warn(self, warnings: list[tuple[CMLWorkerDto, datetime, Warning]],
                    now: datetime) -> int:  # fmt: skip
        if self.notices is None or not warnings:
            return 0
        notices, limit = self.notices, asyncio.Semaphore(WARN_CONCURRENCY)

        async def one(worker: CMLWorkerDto, down: datetime, warning: Warning) -> bool:
            async with limit:
                actor = f"schedule:{worker.schedule}"
                correlation = f"notice-{now:%Y%m%dT%H%M}"
                return await notices.warn(worker, down, warning, actor, correlation, now)

        done = await asyncio.gather(*(one(*w) for w in warnings))
        return sum(done)


def _warning(schedule: Schedule, down: datetime) -> Warning:
    local = down.astimezone(schedule.zone)
    verb = "stops" if schedule.off == "stop" else "is paused"
    label = f"This worker {verb} at {local:%H:%M} ({schedule.timezone})"
    content = (
        f"Its office-hours schedule '{schedule.name}' ends then. Save your work: running "
        f"labs are stopped with the worker"
        + (f" (labs in use are waited on for up to {schedule.grace_minutes} min)."
           if schedule.grace_minutes else ".")
    )  # fmt: skip
    return Warning(label, content, schedule.off)
