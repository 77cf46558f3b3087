"""One worker's turn in a metrics cycle, in three steps, each in its own module:
observe (``sync_observe``), plan what to record (``sync_plan``), record it
(``sync_record``). A steady worker stops after the plan, with no store access; the
saves of concurrent workers share a transaction (``GroupCommit``)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from application.cml import CmlLab, CmlPort
from application.commands.common import CommandResult
from application.commands.group_commit import GroupCommit
from application.dto import CMLWorkerDto
from application.errors import ApplicationError
from application.jobs.backoff import Backoff
from application.jobs.lab_watch import LabWatch
from application.jobs.ports import UtilizationSample
from application.jobs.region import RegionView
from application.jobs.sync_observe import Observer, sample_of
from application.jobs.sync_plan import MetricsStep, Mirror, Plan, Planner
from application.jobs.sync_record import record
from domain.errors import DomainError
from domain.values import MetricThresholds


@dataclass(frozen=True)
class WorkerOutcome:
    worker_id: str
    failed: bool = False
    probed: bool = False
    backed_off: bool = False
    changes: int = 0
    position: int = 0
    sample: UtilizationSample | None = None
    labs: tuple[CmlLab, ...] | None = None
    """The worker's labs as seen this cycle (``None``: not looked at)."""


class WorkerSync:
    """Observes, plans and records one worker at a time (called concurrently)."""

    def __init__(
        self,
        *,
        commit: GroupCommit,
        cml: CmlPort,
        backoff: Backoff,
        thresholds: MetricThresholds,
        worker_timeout: float,
        service_account: re.Pattern[str],
        actor: str,
        labs: LabWatch,
    ) -> None:
        self.commit, self.backoff = commit, backoff
        self.observer = Observer(cml, backoff, worker_timeout, labs)
        self.planner = Planner(thresholds=thresholds, service_account=service_account, actor=actor)

    async def run(
        self,
        dto: CMLWorkerDto,
        region: RegionView,
        now: datetime,
        correlation_id: str,
        probes: asyncio.Semaphore,
    ) -> WorkerOutcome:
        """Observe (holding one of ``probes``), then record what changed (without it:
        the next workers are probed while this one waits for its save)."""
        async with probes:
            seen = await self.observer.observe(dto, region, now)
        plan = self.planner.plan(seen, region, now, correlation_id)
        results: list[CommandResult] = []
        if plan.due:
            recording = partial(record, plan, step_for=self._step_for)
            try:  # one load and one save for all its recordings, with other workers'
                results = await self.commit.record(UUID(dto.id), recording)
            except (ApplicationError, DomainError):
                return WorkerOutcome(
                    dto.id, failed=True, probed=seen.probe is not None, labs=seen.labs
                )
            self.planner.saved(plan)
        return WorkerOutcome(
            dto.id,
            failed=seen.failure is not None,
            probed=seen.probe is not None or seen.failure is not None,
            backed_off=seen.backed_off,
            changes=len(results),
            position=max((r.position for r in results), default=0),
            sample=sample_of(seen, region, now),
            labs=seen.labs,
        )

    def _step_for(self, plan: Plan, mirror: Mirror) -> MetricsStep | None:
        return self.planner.metrics(plan.seen, plan.region, plan.now, plan.correlation_id, mirror)

    def forget_all_but(self, worker_ids: set[str]) -> None:
        self.planner.forget_all_but(worker_ids)
        self.backoff.forget_all_but(worker_ids)
        self.observer.labs.forget_all_but(worker_ids)
