"""What the jobs observe on a worker: instance state, service, endpoint, metrics, activity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import Clock, WorkerStore
from domain.status import ServiceStatus, WorkerStatus
from domain.values import ActivityRecord, MetricThresholds, Telemetry
from domain.worker import CMLWorker


@dataclass(frozen=True)
class RecordMetrics(WorkerCommand):
    """Record an observation of the worker's metrics if it changed materially."""

    telemetry: Telemetry = field(default_factory=Telemetry)
    thresholds: MetricThresholds = field(default_factory=MetricThresholds)


def record_metrics(cmd: RecordMetrics, store: WorkerStore, clock: Clock) -> CommandResult:
    return change(store, cmd, lambda w: metrics(w, cmd, clock.now()))


def metrics(worker: CMLWorker, cmd: RecordMetrics, at: datetime) -> None:
    worker.record_metrics(cmd.telemetry, at=at, thresholds=cmd.thresholds, cause=cmd.cause)


@dataclass(frozen=True)
class RecordActivity(WorkerCommand):
    """Record CML activity newer than what is known; ``cursor`` marks what was read."""

    records: Sequence[ActivityRecord] = ()
    cursor: str | None = None


def record_activity(cmd: RecordActivity, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: activity(w, cmd))


def activity(worker: CMLWorker, cmd: RecordActivity) -> None:
    worker.record_activity(tuple(cmd.records), cursor=cmd.cursor, cause=cmd.cause)


@dataclass(frozen=True)
class ObserveInstance(WorkerCommand):
    """Record what EC2 and the CML API say about the worker right now."""

    status: WorkerStatus | None = None
    service_status: ServiceStatus | None = None
    service_detail: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None
    public_dns: str | None = None
    at: datetime | None = None
    """When it was seen. Given, a stop or start nobody in cml-fleet asked for is also
    recorded as an ``external`` pause or resume."""
    ended: str | None = None
    """Why the worker ended, when ``status`` is ``terminated`` (shown in its history)."""
    tags: Mapping[str, str] | None = None
    """The instance's tags as EC2 reports them; changes made there are recorded."""


def observe_instance(cmd: ObserveInstance, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: observe(w, cmd))


def observe(worker: CMLWorker, cmd: ObserveInstance) -> None:
    cause = cmd.cause
    if cmd.tags is not None:
        worker.observe_tags(dict(cmd.tags), cause=cause)
    if cmd.status is not None:
        worker.observe_status(cmd.status, at=cmd.at, reason=cmd.ended, cause=cause)
    if cmd.service_status is not None:
        worker.change_service_status(cmd.service_status, detail=cmd.service_detail, cause=cause)
    if cmd.public_ip is not None or cmd.private_ip is not None:
        worker.change_endpoint(
            public_ip=cmd.public_ip,
            private_ip=cmd.private_ip,
            public_dns=cmd.public_dns,
            cause=cause,
        )
