"""The events of a worker, each with what it changes (``apply_to``), against the
worker's state (``worker_state``). Minimal: what changed, plus who (``actor``) and in
which request (``correlation_id``); never a copy of the state, never a secret. Each has
an explicit topic, so the stored log does not depend on where a class is written; the
aggregate (``worker.CMLWorker``) names each one as its own (``CMLWorker.Paused``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from domain.status import (
    PAUSE_COUNTERS,
    PAUSE_HISTORY_LIMIT,
    RECENT_ACTIVITY_LIMIT,
    LicenseStatus,
    PauseReason,
    ServiceStatus,
    WorkerStatus,
    status_after_pause,
    status_after_resume,
)
from domain.values import ActivityRecord, PauseRecord
from domain.worker_state import TAG_OPERATION, WorkerState

S = WorkerStatus


class WorkerEvent(Aggregate.Event):
    actor: str
    correlation_id: str

    def apply(self, aggregate: Any) -> None:
        assert isinstance(aggregate, WorkerState)
        aggregate.last_actor = self.actor
        aggregate.last_correlation_id = self.correlation_id
        self.apply_to(aggregate)
        after = self.status_after()
        if after is not None:
            aggregate.set_status(after, self.timestamp)

    def apply_to(self, worker: WorkerState) -> None:
        """What the event changes besides the status; each concrete event says."""

    # The status the event leaves the worker in (None: the status stays): the one
    # statement of it, read by the aggregate above and by the notification catalogue.
    LEAVES: ClassVar[WorkerStatus | None] = None

    def status_after(self) -> WorkerStatus | None:
        return self.LEAVES


class Created(WorkerEvent, Aggregate.Created):
    """A new worker was requested; no instance exists yet."""

    TOPIC = "cml-fleet:CMLWorker.Created"
    LEAVES = S.PENDING
    name: str
    region: str
    instance_type: str
    ami_id: str | None
    launch_template: str | None
    tags: dict[str, str]
    idle_detection_enabled: bool
    idle_timeout_minutes: int | None


class Imported(WorkerEvent, Aggregate.Created):
    """An existing EC2 instance was taken under management."""

    TOPIC = "cml-fleet:CMLWorker.Imported"
    name: str
    region: str
    instance_type: str
    ami_id: str | None
    instance_id: str
    observed: WorkerStatus
    tags: dict[str, str]
    idle_detection_enabled: bool
    idle_timeout_minutes: int | None

    def status_after(self) -> WorkerStatus | None:
        return self.observed


class InstanceAssigned(WorkerEvent):
    """The EC2 instance for a requested worker exists."""

    TOPIC = "cml-fleet:CMLWorker.InstanceAssigned"
    LEAVES = S.PROVISIONING
    instance_id: str

    def apply_to(self, worker: WorkerState) -> None:
        worker.instance_id = self.instance_id


class StatusChanged(WorkerEvent):
    """EC2 reported the instance in a different state."""

    TOPIC = "cml-fleet:CMLWorker.StatusChanged"
    previous: WorkerStatus
    status: WorkerStatus

    def status_after(self) -> WorkerStatus | None:
        return self.status


class StartRequested(WorkerEvent):
    """An operator asked to start a stopped worker."""

    TOPIC = "cml-fleet:CMLWorker.StartRequested"
    LEAVES = S.STARTING


class StopRequested(WorkerEvent):
    """An operator asked to stop a worker (not counted as a pause)."""

    TOPIC = "cml-fleet:CMLWorker.StopRequested"
    LEAVES = S.STOPPING


class TerminateRequested(WorkerEvent):
    """An admin asked to terminate the worker's instance."""

    TOPIC = "cml-fleet:CMLWorker.TerminateRequested"
    LEAVES = S.TERMINATING


class Terminated(WorkerEvent):
    """The instance is gone. Final. ``reason`` says how it was found to be gone
    (absent from events stored before it existed: ``None``)."""

    TOPIC = "cml-fleet:CMLWorker.Terminated"
    LEAVES = S.TERMINATED
    reason: str | None = None

    def apply_to(self, worker: WorkerState) -> None:
        worker.terminated_at = self.timestamp


class Released(WorkerEvent):
    """An admin took the worker out of management, for ``reason``. Final; the
    instance (if any) is left as it is and may be imported again."""

    TOPIC = "cml-fleet:CMLWorker.Released"
    LEAVES = S.RELEASED
    reason: str
    previous: WorkerStatus

    def apply_to(self, worker: WorkerState) -> None:
        worker.tags_pending_version = None


class OperationFailed(WorkerEvent):
    """A requested cloud operation failed for good; the status is what EC2 left."""

    TOPIC = "cml-fleet:CMLWorker.OperationFailed"
    operation: str
    reason: str
    status: WorkerStatus

    def apply_to(self, worker: WorkerState) -> None:
        worker.last_operation_error = f"{self.operation}: {self.reason}"
        if self.operation == TAG_OPERATION:
            worker.tags_pending_version = None

    def status_after(self) -> WorkerStatus | None:
        return self.status


class Paused(WorkerEvent):
    """The worker is being stopped to save money, for ``reason``."""

    TOPIC = "cml-fleet:CMLWorker.Paused"
    reason: PauseReason
    at: datetime
    idle_minutes: float | None

    def apply_to(self, worker: WorkerState) -> None:
        record = PauseRecord(self.at, self.reason.value, self.actor, self.idle_minutes)
        worker.pause_history = (*worker.pause_history, record)[-PAUSE_HISTORY_LIMIT:]
        worker.last_paused_at = self.at
        counter = PAUSE_COUNTERS[self.reason]
        setattr(worker, counter, getattr(worker, counter) + 1)

    def status_after(self) -> WorkerStatus | None:
        return status_after_pause(self.reason)


class Resumed(WorkerEvent):
    """A paused worker is being started again; opens the snooze period."""

    TOPIC = "cml-fleet:CMLWorker.Resumed"
    reason: PauseReason
    at: datetime

    def apply_to(self, worker: WorkerState) -> None:
        worker.last_resumed_at = self.at
        worker.resume_count += 1
        history = tuple(worker.pause_history)  # a list after a snapshot round trip
        if history and history[-1].resumed_at is None:
            closed = replace(
                history[-1],
                resumed_at=self.at,
                resume_reason=self.reason.value,
                resumed_by=self.actor,
            )
            worker.pause_history = (*history[:-1], closed)

    def status_after(self) -> WorkerStatus | None:
        return status_after_resume(self.reason)


class ServiceStatusChanged(WorkerEvent):
    """The CML API on the worker became reachable, ready or unreachable."""

    TOPIC = "cml-fleet:CMLWorker.ServiceStatusChanged"
    service_status: ServiceStatus
    detail: str | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.service_status = self.service_status
        worker.service_detail = self.detail


class EndpointChanged(WorkerEvent):
    """The instance's addresses changed (e.g. a new public IP after a start)."""

    TOPIC = "cml-fleet:CMLWorker.EndpointChanged"
    public_ip: str | None
    private_ip: str | None
    public_dns: str | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.public_ip = self.public_ip
        worker.private_ip = self.private_ip
        worker.public_dns = self.public_dns


class MetricsRecorded(WorkerEvent):
    """Metrics changed materially (or the last recording went stale)."""

    TOPIC = "cml-fleet:CMLWorker.MetricsRecorded"
    changes: dict[str, Any]
    at: datetime

    def apply_to(self, worker: WorkerState) -> None:
        worker.telemetry = worker.telemetry.updated(self.changes)
        worker.metrics_recorded_at = self.at


class ActivityRecorded(WorkerEvent):
    """New relevant CML activity was seen (lab started, a user was active, ...)."""

    TOPIC = "cml-fleet:CMLWorker.ActivityRecorded"
    last_activity_at: datetime
    records: tuple[ActivityRecord, ...]
    cursor: str | None

    def apply_to(self, worker: WorkerState) -> None:
        if worker.last_activity_at is None or self.last_activity_at > worker.last_activity_at:
            worker.last_activity_at = self.last_activity_at
        recent = tuple(worker.recent_activity) + tuple(self.records)
        worker.recent_activity = recent[-RECENT_ACTIVITY_LIMIT:]
        if self.cursor is not None:
            worker.activity_cursor = self.cursor


class IdleDetectionToggled(WorkerEvent):
    """Idle detection was switched on or off for this worker."""

    TOPIC = "cml-fleet:CMLWorker.IdleDetectionToggled"
    enabled: bool
    timeout_minutes: int | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.idle_detection_enabled = self.enabled
        worker.idle_timeout_minutes = self.timeout_minutes


class IdleTimeoutChanged(WorkerEvent):
    """The worker's own idle timeout changed (``None``: the global default)."""

    TOPIC = "cml-fleet:CMLWorker.IdleTimeoutChanged"
    timeout_minutes: int | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.idle_timeout_minutes = self.timeout_minutes


class LicenseRegistrationStarted(WorkerEvent):
    """Registration was requested; only the token's fingerprint is kept."""

    TOPIC = "cml-fleet:CMLWorker.LicenseRegistrationStarted"
    token_fingerprint: str

    def apply_to(self, worker: WorkerState) -> None:
        fingerprint, version = self.token_fingerprint, self.originator_version
        worker.set_license(worker.license.registering(fingerprint, version))


class LicenseRegistrationCompleted(WorkerEvent):
    TOPIC = "cml-fleet:CMLWorker.LicenseRegistrationCompleted"
    license_status: LicenseStatus

    def apply_to(self, worker: WorkerState) -> None:
        worker.set_license(worker.license.registered(self.license_status))


class LicenseRegistrationFailed(WorkerEvent):
    TOPIC = "cml-fleet:CMLWorker.LicenseRegistrationFailed"
    reason: str

    def apply_to(self, worker: WorkerState) -> None:
        worker.set_license(worker.license.registration_failed(self.reason))


class LicenseDeregistrationStarted(WorkerEvent):
    TOPIC = "cml-fleet:CMLWorker.LicenseDeregistrationStarted"

    def apply_to(self, worker: WorkerState) -> None:
        worker.set_license(worker.license.deregistering(self.originator_version))


class LicenseDeregistrationCompleted(WorkerEvent):
    TOPIC = "cml-fleet:CMLWorker.LicenseDeregistrationCompleted"

    def apply_to(self, worker: WorkerState) -> None:
        worker.set_license(worker.license.deregistered())


class LicenseDeregistrationFailed(WorkerEvent):
    TOPIC = "cml-fleet:CMLWorker.LicenseDeregistrationFailed"
    reason: str
    license_status: LicenseStatus

    def apply_to(self, worker: WorkerState) -> None:
        worker.set_license(worker.license.deregistration_failed(self.reason, self.license_status))


class LicenseStatusObserved(WorkerEvent):
    """CML reports another license status than recorded (expired, deregistered
    elsewhere, registered by hand, ...), outside any operation of ours."""

    TOPIC = "cml-fleet:CMLWorker.LicenseStatusObserved"
    license_status: LicenseStatus
    detail: str | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.set_license(worker.license.observed(self.license_status, self.detail))


class TagsChanged(WorkerEvent):
    """Tags were added/changed and/or removed; others are untouched. Asked for
    through cml-fleet and ``to_ec2`` (to be written there), or ``observed``: changed
    in EC2 directly and seen there. Events stored before either field existed have
    both false: they were never written to EC2, and nothing is pending for them."""

    TOPIC = "cml-fleet:CMLWorker.TagsChanged"
    added: dict[str, str]
    removed: tuple[str, ...]
    observed: bool = False
    to_ec2: bool = False

    def apply_to(self, worker: WorkerState) -> None:
        tags = {k: v for k, v in worker.tags.items() if k not in self.removed}
        tags.update(self.added)
        worker.tags = tags
        if self.to_ec2:
            worker.tags_pending_version = self.originator_version


class TeamChanged(WorkerEvent):
    """The worker moved to another team (``None``: to none), by an admin or seen in
    EC2's ``cml-fleet:team`` tag. The tag change itself is the ``TagsChanged`` just
    before; this one says what it means, for those who see workers by team."""

    TOPIC = "cml-fleet:CMLWorker.TeamChanged"
    team: str | None
    previous: str | None

    def apply_to(self, worker: WorkerState) -> None:
        """Nothing more: the team is the tag, changed by the event before."""


class ScheduleOverridden(WorkerEvent):
    """An operator keeps the worker running until ``until`` whatever its schedule says
    (``None``: the override is lifted). It expires by itself at that time."""

    TOPIC = "cml-fleet:CMLWorker.ScheduleOverridden"
    until: datetime | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.schedule_override_until = self.until


class NoticePosted(WorkerEvent):
    """The worker's CML users were warned (a system notice), ``lead_minutes`` ahead,
    that it goes down at ``down_at``: ``action`` is ``pause`` (idle) or ``stop``/``pause``
    (its schedule).

    Version 2 (release 0.2) records ``lead_minutes``; a version 1 event (release 0.1)
    gets it on read from when it was recorded (notes/UPGRADES.md).
    """

    TOPIC = "cml-fleet:CMLWorker.NoticePosted"
    class_version: ClassVar[int] = 2
    action: str
    down_at: datetime
    notice_id: str
    lead_minutes: int

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Release 0.1 did not record how long ahead: it is the time from the event to
        ``down_at`` (the notice was posted just before the event was recorded)."""
        ahead = state["down_at"] - state["timestamp"]
        state["lead_minutes"] = max(0, round(ahead.total_seconds() / 60))

    def apply_to(self, worker: WorkerState) -> None:
        worker.notice_down_at = self.down_at


class TagsApplied(WorkerEvent):
    """The tag change of ``version`` (and every one before it) is in EC2."""

    TOPIC = "cml-fleet:CMLWorker.TagsApplied"
    version: int

    def apply_to(self, worker: WorkerState) -> None:
        pending = worker.tags_pending_version
        if pending is not None and pending <= self.version:
            worker.tags_pending_version = None


class LabOperationRequested(WorkerEvent):
    """An operator asked for something to be done to a lab on the worker's CML
    (``start``, ``stop``, ``wipe``, ``delete``; ``import`` with the topology's size and
    digest, the topology itself never in the log). The operations engine carries it out."""

    TOPIC = "cml-fleet:CMLWorker.LabOperationRequested"
    operation: str
    lab_id: str | None
    title: str | None = None
    size: int | None = None
    digest: str | None = None

    def apply_to(self, worker: WorkerState) -> None:
        worker.lab_operations_pending = (*worker.lab_operations_pending, self.originator_version)


class LabOperationDone(WorkerEvent):
    """The lab operation requested at ``request_version`` is done; ``lab_state`` is the
    lab's state CML reported after it (``None``: deleted)."""

    TOPIC = "cml-fleet:CMLWorker.LabOperationDone"
    request_version: int
    operation: str
    lab_id: str
    lab_state: str | None

    def apply_to(self, worker: WorkerState) -> None:
        worker.lab_operations_pending = _without(worker, self.request_version)


class LabOperationFailed(WorkerEvent):
    """The lab operation requested at ``request_version`` could not be done."""

    TOPIC = "cml-fleet:CMLWorker.LabOperationFailed"
    request_version: int
    operation: str
    lab_id: str | None
    reason: str

    def apply_to(self, worker: WorkerState) -> None:
        worker.lab_operations_pending = _without(worker, self.request_version)


def _without(worker: WorkerState, version: int) -> tuple[int, ...]:
    return tuple(v for v in worker.lab_operations_pending if v != version)
