"""Pure policies of the worker model. Time is always an argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from domain.status import WorkerStatus
from domain.values import PERCENT_FIELDS, MetricThresholds, Telemetry

EC2_STATE_TO_STATUS: dict[str, WorkerStatus] = {
    "pending": WorkerStatus.PROVISIONING,
    "running": WorkerStatus.RUNNING,
    "stopping": WorkerStatus.STOPPING,
    "stopped": WorkerStatus.STOPPED,
    "shutting-down": WorkerStatus.TERMINATING,
    "terminated": WorkerStatus.TERMINATED,
}
"""Every EC2 instance state name (``InstanceState.Name``) and the worker status it means."""


def worker_status_for_ec2_state(ec2_state: str | None) -> WorkerStatus:
    """The worker status an EC2 instance state means; ``unknown`` for anything else.

    EC2 reports ``pending`` both for a new instance and for a stopped one being
    started; :func:`observed_status` refines that with the worker's current status.
    """
    if ec2_state is None:
        return WorkerStatus.UNKNOWN
    return EC2_STATE_TO_STATUS.get(ec2_state.lower(), WorkerStatus.UNKNOWN)


def observed_status(current: WorkerStatus, ec2_state: str | None) -> WorkerStatus:
    """The status a worker should have once EC2 reported ``ec2_state``."""
    status = worker_status_for_ec2_state(ec2_state)
    if status is WorkerStatus.PROVISIONING and current in (
        WorkerStatus.STOPPED,
        WorkerStatus.STARTING,
    ):
        return WorkerStatus.STARTING
    return status


def material_changes(
    last: Telemetry,
    observed: Telemetry,
    last_recorded_at: datetime | None,
    now: datetime,
    thresholds: MetricThresholds,
) -> dict[str, Any] | None:
    """The changes worth recording, or ``None`` when nothing should be recorded.

    Percentages count when they move by at least the threshold (or appear/vanish);
    other fields on any change. When the last recording is older than the maximum
    staleness, every difference is recorded (possibly none: a freshness mark).
    """
    differences = last.differences(observed)
    material = {
        name: value
        for name, value in differences.items()
        if name not in PERCENT_FIELDS
        or _moved_enough(getattr(last, name), value, thresholds.percent_points)
    }
    if material:
        return material
    stale = last_recorded_at is None or (now - last_recorded_at) >= timedelta(
        seconds=thresholds.max_staleness_seconds
    )
    return differences if stale else None


def _moved_enough(old: float | None, new: float | None, points: float) -> bool:
    if old is None or new is None:
        return old is not new
    return abs(new - old) >= points


@dataclass(frozen=True)
class IdleAssessment:
    """Where a worker stands with respect to idle auto-pause at a given time."""

    idle_since: datetime
    pause_due_at: datetime
    eligible: bool


def assess_idle(
    now: datetime,
    last_activity_at: datetime | None,
    last_resumed_at: datetime | None,
    created_at: datetime,
    timeout: timedelta,
    snooze: timedelta,
    running_since: datetime | None = None,
) -> IdleAssessment:
    """Idle since the latest of activity, resume, (re)start and creation; due after the timeout.

    A worker that never showed activity falls back to its last resume (or the moment it
    last came up), then its creation time. A resume also opens a snooze period during
    which no auto-pause is due, whatever the activity says.
    """
    moments = (last_activity_at, last_resumed_at, running_since, created_at)
    idle_since = max(t for t in moments if t is not None)
    due = idle_since + timeout
    if last_resumed_at is not None:
        due = max(due, last_resumed_at + snooze)
    return IdleAssessment(idle_since=idle_since, pause_due_at=due, eligible=now >= due)


class ExternalChange(Enum):
    """A power change of the instance that nobody in cml-fleet asked for."""

    STOP = "stop"
    START = "start"


_WAS_UP = frozenset({WorkerStatus.PROVISIONING, WorkerStatus.STARTING, WorkerStatus.RUNNING})
_NOW_DOWN = frozenset({WorkerStatus.STOPPING, WorkerStatus.STOPPED})
_NOW_UP = frozenset({WorkerStatus.PROVISIONING, WorkerStatus.STARTING, WorkerStatus.RUNNING})


def external_change(previous: WorkerStatus, observed: WorkerStatus) -> ExternalChange | None:
    """What an observed status change means when cml-fleet did not ask for it.

    Every stop or start cml-fleet carries out is requested first, which moves the
    worker to ``stopping`` or ``starting`` before EC2 is asked. So an instance seen
    going down while the worker was up (or up while it was down) was stopped or
    started by someone else, e.g. in the AWS console.
    """
    if previous in _WAS_UP and observed in _NOW_DOWN:
        return ExternalChange.STOP
    if previous is WorkerStatus.STOPPED and observed in _NOW_UP:
        return ExternalChange.START
    return None
