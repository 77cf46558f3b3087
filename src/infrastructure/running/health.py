"""What is failing in this process, in words an operator reads: the one place that
decides, for ``/readyz``, ``/metrics`` and the dashboard's banner.

A problem makes the process *degraded*, never *unready*: readiness says whether to
send it traffic (it is started and its read model is caught up), and a process whose
AWS region is down must still serve the dashboard that shows it (decision record
0006). Problems, each after ``health_failures_in_a_row`` failures in a row:

- a scheduled job whose runs keep failing;
- a region whose EC2 or CloudWatch keeps failing the metrics job;
- the operations reactor: reading the log keeps failing, or an operation has been in
  flight longer than ``health_operation_stall_seconds``.

Jobs, regions and the reactor run in the process that leads (``GET /api/admin/leader``):
the others report none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from application.jobs.region_health import RegionHealth
from infrastructure.shared.settings import Settings


class Watched(Protocol):
    """What health looks at (the system has these parts)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def scheduler(self) -> Any: ...  # infrastructure.running.scheduler.FleetScheduler
    @property
    def region_health(self) -> RegionHealth | None: ...
    @property
    def reactor(self) -> Any: ...  # infrastructure.running.operations.OperationsReactor, if it runs


@dataclass(frozen=True)
class Problem:
    """One thing that keeps failing: ``check`` names it (``job:metrics``,
    ``region:eu-west-1``, ``operations``), ``detail`` says how."""

    check: str
    detail: str


def problems(system: Watched) -> list[Problem]:
    """Everything failing now, jobs first, then regions, then the reactor."""
    return [*_jobs(system), *_regions(system), *_reactor(system)]


def _jobs(system: Watched) -> list[Problem]:
    limit = system.settings.health_failures_in_a_row
    scheduler = system.scheduler
    return [
        Problem(f"job:{job.id}", f"failed {job.failing} times in a row: {job.last_error}")
        for job in (scheduler.jobs() if scheduler is not None else ())
        if job.failing >= limit
    ]


def _regions(system: Watched) -> list[Problem]:
    health = system.region_health
    found = []
    for state in health.states() if health is not None else ():
        if state.unhealthy:
            when = state.last_ok_at.isoformat() if state.last_ok_at else "never since start"
            detail = (
                f"EC2/CloudWatch failed {state.failures} times in a row "
                f"({', '.join(state.failing)}); last answered: {when}"
            )
            found.append(Problem(f"region:{state.region}", detail))
    return found


def _reactor(system: Watched) -> list[Problem]:
    reactor, settings = system.reactor, system.settings
    if reactor is None or not reactor.running:
        return []
    found = []
    if reactor.read_failures >= settings.health_failures_in_a_row:
        detail = f"reading the event log failed {reactor.read_failures} times in a row"
        found.append(Problem("operations", detail))
    oldest = reactor.oldest_in_flight_seconds()
    if oldest > settings.health_operation_stall_seconds:
        found.append(Problem("operations", f"an operation has been in flight for {oldest:.0f} s"))
    return found
