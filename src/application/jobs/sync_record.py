"""A worker's turn in a metrics cycle, step 3: record the plan. Every recording goes
through its command handler, so the aggregate decides again; all of a worker's
recordings of a cycle share one load and one save (the ``store`` holds that worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.commands.common import CommandResult
from application.commands.license_sync import observe_license_status
from application.commands.observations import observe_instance, record_activity, record_metrics
from application.jobs.sync_plan import MetricsStep, Mirror, Plan
from application.ports import WorkerStore

StepFor = Callable[[Plan, Mirror], MetricsStep | None]
"""How the metrics step is planned once the stored telemetry is known."""


@dataclass(frozen=True)
class At:
    """The cycle's ``now`` as a clock, so every recording of a cycle has its time."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


def record(plan: Plan, store: WorkerStore, step_for: StepFor) -> list[CommandResult]:
    """The plan's recordings, through the command handlers, on the worker ``store``
    holds (runs in a worker thread; may run again after a conflict). Returns the
    results of those that changed the worker."""
    results = []
    if plan.observe is not None:
        results.append(observe_instance(plan.observe, store))
    if plan.license is not None:
        results.append(observe_license_status(plan.license, store))
    mirror, step = plan.known, plan.metrics
    if mirror is None:
        worker = store.get(UUID(plan.seen.dto.id))
        mirror = Mirror(worker.telemetry, worker.metrics_recorded_at)
        step = step_for(plan, mirror)
    plan.mirror = mirror
    if step is not None:
        command, changes = step
        result = record_metrics(command, store, At(plan.now))
        changed = Mirror(mirror.telemetry.updated(changes), plan.now)
        plan.mirror = changed if result.changed else None  # else out of step: reload
        results.append(result)
    if plan.activity is not None:
        results.append(record_activity(plan.activity, store))
    return [r for r in results if r.changed]
