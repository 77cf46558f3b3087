"""A worker's turn in a metrics cycle, step 3: record the plan. The plain path of a
command (load, change, save), with one change made of the plan's steps: each step is
its command's own change (the handlers' rules, so the aggregate decides again), and a
worker's steps of a cycle share one load and one save."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from uuid import UUID

from application.commands.common import CommandResult, change_worker
from application.commands.license_sync import observe_license
from application.commands.observations import activity, metrics, observe
from application.jobs.sync_plan import MetricsStep, Mirror, Plan
from application.ports import WorkerStore
from domain.worker import CMLWorker

StepFor = Callable[[Plan, Mirror], MetricsStep | None]
"""How the metrics step is planned once the stored telemetry is known."""


def record(plan: Plan, store: WorkerStore, step_for: StepFor) -> list[CommandResult]:
    """The plan's steps on its worker, loaded, changed and saved once (in a worker
    thread; the change runs again after a conflict). One result for each step that
    changed the worker, at the position of the save."""
    worker_id = UUID(plan.seen.dto.id)
    changed: list[str] = []

    def steps(worker: CMLWorker) -> None:
        changed.clear()
        seen, license, active = plan.observe, plan.license, plan.activity
        if seen is not None:
            _step(worker, changed, "observe", partial(observe, worker, seen))
        if license is not None:
            _step(worker, changed, "license", partial(observe_license, worker, license))
        mirror, step = plan.known, plan.metrics
        if mirror is None:
            mirror = Mirror(worker.telemetry, worker.metrics_recorded_at)
            step = step_for(plan, mirror)
        plan.mirror = mirror
        if step is not None:
            command, changes = step
            if _step(worker, changed, "metrics", partial(metrics, worker, command, plan.now)):
                plan.mirror = Mirror(mirror.telemetry.updated(changes), plan.now)
            else:
                plan.mirror = None  # out of step with what is stored: reload next cycle
        if active is not None:
            _step(worker, changed, "activity", partial(activity, worker, active))

    saved = change_worker(store, worker_id, steps, plan.correlation_id)
    return [replace(saved, changed=True) for _ in changed]


def _step(worker: CMLWorker, changed: list[str], name: str, run: Callable[[], None]) -> bool:
    """Run one step; note it when it changed the worker."""
    before = len(worker.pending_events)
    run()
    if len(worker.pending_events) > before:
        changed.append(name)
        return True
    return False
