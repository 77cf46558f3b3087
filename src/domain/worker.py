"""The CMLWorker aggregate: one EC2 instance running Cisco Modeling Labs.

Each command method sits next to the event it triggers and the guard that protects
it. Events are minimal: what changed, plus who (``actor``) and why
(``correlation_id``); never a copy of the state, never a secret. Times that matter to
the domain arrive as data (``at``); the library stamps each event with its own
``timestamp`` as well.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import IllegalTransition, InvalidValue
from domain.policies import ExternalChange, assess_idle, external_change, material_changes
from domain.status import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    LicenseStatus,
    PauseReason,
    ServiceStatus,
    WorkerStatus,
    status_after_pause,
    status_after_resume,
)
from domain.tags import differences as tag_differences
from domain.tags import managed, refuse_past_limit, refuse_protected, refuse_too_many
from domain.values import ActivityRecord, MetricThresholds, PauseRecord, Telemetry

PAUSE_HISTORY_LIMIT = 20
RECENT_ACTIVITY_LIMIT = 10
S = WorkerStatus


def _guard(action: str, current: WorkerStatus, allowed: frozenset[WorkerStatus]) -> None:
    if current not in allowed:
        names = tuple(sorted(s.value for s in allowed))
        raise IllegalTransition(action, current.value, names)


class CMLWorker(Aggregate):
    """A CML worker and everything cml-fleet knows about it."""

    TOPIC = "cml-fleet:CMLWorker"

    # State added after workers were first stored: snapshots taken before lack it, so
    # the class holds the value an old worker starts from.
    license_request_version: int | None = None
    """Version of the event that started the license operation in progress."""
    license_status_before_request: LicenseStatus | None = None
    """The license status before that operation started (what a failure leaves)."""
    tags_pending_version: int | None = None
    """Version of the last tag change not yet written to EC2 (``None``: none pending)."""

    class Event(Aggregate.Event):
        actor: str
        correlation_id: str

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, CMLWorker)
            aggregate.last_actor = self.actor
            aggregate.last_correlation_id = self.correlation_id
            self.apply_to(aggregate)

        def apply_to(self, worker: CMLWorker) -> None:
            """What the event changes; each concrete event says."""

    # ---------------------------------------------------------------- creation

    class Created(Event, Aggregate.Created):
        """A new worker was requested; no instance exists yet."""

        TOPIC = "cml-fleet:CMLWorker.Created"
        name: str
        region: str
        instance_type: str
        ami_id: str | None
        launch_template: str | None
        tags: dict[str, str]
        idle_detection_enabled: bool
        idle_timeout_minutes: int | None

    class Imported(Event, Aggregate.Created):
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

    def __init__(
        self,
        *,
        name: str,
        region: str,
        instance_type: str,
        actor: str,
        correlation_id: str,
        ami_id: str | None = None,
        launch_template: str | None = None,
        instance_id: str | None = None,
        observed: WorkerStatus = S.PENDING,
        tags: dict[str, str] | None = None,
        idle_detection_enabled: bool = True,
        idle_timeout_minutes: int | None = None,
    ) -> None:
        self.name = name
        self.region = region
        self.instance_type = instance_type
        self.ami_id = ami_id
        self.launch_template = launch_template
        self.instance_id = instance_id
        self.status = observed
        self.status_changed_at: datetime = self.created_on
        self.running_since: datetime | None = self.created_on if observed in _UP else None
        self.last_operation_error: str | None = None
        self.public_ip: str | None = None
        self.private_ip: str | None = None
        self.public_dns: str | None = None
        self.service_status = ServiceStatus.UNKNOWN
        self.service_detail: str | None = None
        self.license_status = LicenseStatus.UNREGISTERED
        self.license_fingerprint: str | None = None
        self.license_detail: str | None = None
        self.telemetry = Telemetry()
        self.metrics_recorded_at: datetime | None = None
        self.last_activity_at: datetime | None = None
        self.recent_activity: tuple[ActivityRecord, ...] = ()
        self.activity_cursor: str | None = None
        self.idle_detection_enabled = idle_detection_enabled
        self.idle_timeout_minutes = idle_timeout_minutes
        self.pause_history: tuple[PauseRecord, ...] = ()
        self.last_paused_at: datetime | None = None
        self.last_resumed_at: datetime | None = None
        self.auto_pause_count = 0
        self.manual_pause_count = 0
        self.external_pause_count = 0
        self.resume_count = 0
        self.tags: dict[str, str] = dict(tags or {})
        self.created_by = actor
        self.last_actor = actor
        self.last_correlation_id = correlation_id
        self.terminated_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        name: str,
        region: str,
        instance_type: str,
        actor: str,
        correlation_id: str,
        ami_id: str | None = None,
        launch_template: str | None = None,
        tags: dict[str, str] | None = None,
        idle_detection_enabled: bool = True,
        idle_timeout_minutes: int | None = None,
        id: UUID | None = None,
    ) -> CMLWorker:
        """Record a request for a new worker (the instance is provisioned later)."""
        if ami_id is None and launch_template is None:
            raise InvalidValue("ami_id", "an AMI id or a launch template is required")
        _check_timeout(idle_timeout_minutes)
        refuse_protected(tags or {})
        refuse_too_many(tags or {})
        return cls._create(
            cls.Created,
            id=id,
            name=name,
            region=region,
            instance_type=instance_type,
            ami_id=ami_id,
            launch_template=launch_template,
            tags=dict(tags or {}),
            idle_detection_enabled=idle_detection_enabled,
            idle_timeout_minutes=idle_timeout_minutes,
            actor=actor,
            correlation_id=correlation_id,
        )

    @classmethod
    def import_instance(
        cls,
        *,
        instance_id: str,
        name: str,
        region: str,
        instance_type: str,
        observed: WorkerStatus,
        actor: str,
        correlation_id: str,
        ami_id: str | None = None,
        tags: dict[str, str] | None = None,
        idle_detection_enabled: bool = True,
        idle_timeout_minutes: int | None = None,
        id: UUID | None = None,
    ) -> CMLWorker:
        """Take an existing EC2 instance under management. Its protected tags (see
        :mod:`domain.tags`) are not the worker's to manage and are left out."""
        _check_timeout(idle_timeout_minutes)
        return cls._create(
            cls.Imported,
            id=id,
            name=name,
            region=region,
            instance_type=instance_type,
            ami_id=ami_id,
            instance_id=instance_id,
            observed=observed,
            tags=managed(tags or {}),
            idle_detection_enabled=idle_detection_enabled,
            idle_timeout_minutes=idle_timeout_minutes,
            actor=actor,
            correlation_id=correlation_id,
        )

    # --------------------------------------------------------------- lifecycle

    @property
    def is_final(self) -> bool:
        """Terminated or released: no longer managed, observations are ignored."""
        return self.status in FINAL_STATUSES

    class InstanceAssigned(Event):
        """The EC2 instance for a requested worker exists."""

        TOPIC = "cml-fleet:CMLWorker.InstanceAssigned"
        instance_id: str

        def apply_to(self, worker: CMLWorker) -> None:
            worker.instance_id = self.instance_id
            worker._set_status(S.PROVISIONING, self.timestamp)

    def assign_instance(self, instance_id: str, *, actor: str, correlation_id: str) -> None:
        _guard("assign an instance to", self.status, frozenset({S.PENDING}))
        self.trigger_event(
            self.InstanceAssigned,
            instance_id=instance_id,
            actor=actor,
            correlation_id=correlation_id,
        )

    class StatusChanged(Event):
        """EC2 reported the instance in a different state."""

        TOPIC = "cml-fleet:CMLWorker.StatusChanged"
        previous: WorkerStatus
        status: WorkerStatus

        def apply_to(self, worker: CMLWorker) -> None:
            worker._set_status(self.status, self.timestamp)

    def observe_status(
        self,
        status: WorkerStatus,
        *,
        actor: str,
        correlation_id: str,
        at: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record what EC2 says. Facts are not refused, but a terminated or released
        worker stays so.

        Returns whether an event was recorded. Termination is recorded as
        :class:`Terminated`, with ``reason`` (why it ended, for its history). Given
        ``at`` (when it was seen), a stop or start nobody in cml-fleet asked for is also
        recorded, as an ``external`` pause or resume, so counters, history and the
        snooze period stay right.
        """
        if self.is_final or status is self.status:
            return False
        if status is S.TERMINATED:
            self.record_termination(reason, actor=actor, correlation_id=correlation_id)
            return True
        previous = self.status
        self.trigger_event(
            self.StatusChanged,
            previous=previous,
            status=status,
            actor=actor,
            correlation_id=correlation_id,
        )
        if at is not None:
            self._record_external(external_change(previous, status), at, actor, correlation_id)
        return True

    def _record_external(
        self, change: ExternalChange | None, at: datetime, actor: str, correlation_id: str
    ) -> None:
        if change is ExternalChange.STOP:
            self.pause(PauseReason.EXTERNAL, at=at, actor=actor, correlation_id=correlation_id)
        elif change is ExternalChange.START:
            self.resume(PauseReason.EXTERNAL, at=at, actor=actor, correlation_id=correlation_id)

    class StartRequested(Event):
        """An operator asked to start a stopped worker."""

        TOPIC = "cml-fleet:CMLWorker.StartRequested"

        def apply_to(self, worker: CMLWorker) -> None:
            worker._set_status(S.STARTING, self.timestamp)

    def request_start(self, *, actor: str, correlation_id: str) -> None:
        _guard("start", self.status, frozenset({S.STOPPED}))
        self.trigger_event(self.StartRequested, actor=actor, correlation_id=correlation_id)

    class StopRequested(Event):
        """An operator asked to stop a worker (not counted as a pause)."""

        TOPIC = "cml-fleet:CMLWorker.StopRequested"

        def apply_to(self, worker: CMLWorker) -> None:
            worker._set_status(S.STOPPING, self.timestamp)

    def request_stop(self, *, actor: str, correlation_id: str) -> None:
        _guard("stop", self.status, frozenset({S.RUNNING, S.STARTING, S.PROVISIONING}))
        self.trigger_event(self.StopRequested, actor=actor, correlation_id=correlation_id)

    class TerminateRequested(Event):
        """An admin asked to terminate the worker's instance."""

        TOPIC = "cml-fleet:CMLWorker.TerminateRequested"

        def apply_to(self, worker: CMLWorker) -> None:
            worker._set_status(S.TERMINATING, self.timestamp)

    def request_terminate(self, *, actor: str, correlation_id: str) -> None:
        _guard("terminate", self.status, LIVE_STATUSES)
        self.trigger_event(self.TerminateRequested, actor=actor, correlation_id=correlation_id)

    class Terminated(Event):
        """The instance is gone. Final. ``reason`` says how it was found to be gone
        (absent from events stored before it existed: ``None``)."""

        TOPIC = "cml-fleet:CMLWorker.Terminated"
        reason: str | None = None

        def apply_to(self, worker: CMLWorker) -> None:
            worker._set_status(S.TERMINATED, self.timestamp)
            worker.terminated_at = self.timestamp

    def record_termination(self, reason: str | None, *, actor: str, correlation_id: str) -> bool:
        """Record that the instance is gone (nothing if already final)."""
        if self.is_final:
            return False
        self.trigger_event(
            self.Terminated, reason=reason, actor=actor, correlation_id=correlation_id
        )
        return True

    class Released(Event):
        """An admin took the worker out of management, for ``reason``. Final; the
        instance (if any) is left as it is and may be imported again."""

        TOPIC = "cml-fleet:CMLWorker.Released"
        reason: str
        previous: WorkerStatus

        def apply_to(self, worker: CMLWorker) -> None:
            worker._set_status(S.RELEASED, self.timestamp)
            worker.tags_pending_version = None

    def release(self, reason: str, *, actor: str, correlation_id: str) -> None:
        """Stop managing the worker, whatever its status (a stuck ``terminating``, an
        instance gone or in a region that does not answer), except a final one."""
        if self.is_final:
            names = tuple(sorted(s.value for s in set(S) - FINAL_STATUSES))
            raise IllegalTransition("release", self.status.value, names)
        reason = reason.strip()
        if not reason:
            raise InvalidValue("reason", "say why the worker is released")
        self.trigger_event(
            self.Released,
            reason=reason,
            previous=self.status,
            actor=actor,
            correlation_id=correlation_id,
        )

    class OperationFailed(Event):
        """A requested cloud operation failed for good; the status is what EC2 left."""

        TOPIC = "cml-fleet:CMLWorker.OperationFailed"
        operation: str
        reason: str
        status: WorkerStatus

        def apply_to(self, worker: CMLWorker) -> None:
            worker.last_operation_error = f"{self.operation}: {self.reason}"
            worker._set_status(self.status, self.timestamp)
            if self.operation == TAG_OPERATION:
                worker.tags_pending_version = None

    def fail_operation(
        self, operation: str, reason: str, status: WorkerStatus, *, actor: str, correlation_id: str
    ) -> None:
        """Record that ``operation`` failed permanently, leaving the worker in ``status``."""
        if self.is_final:
            return
        self.trigger_event(
            self.OperationFailed,
            operation=operation,
            reason=reason,
            status=status,
            actor=actor,
            correlation_id=correlation_id,
        )

    def _set_status(self, status: WorkerStatus, at: datetime) -> None:
        if status is self.status:
            return
        if status in _UP and self.status not in _UP:
            self.running_since = at  # a (re)started worker is not idle since long ago
        self.status = status
        self.status_changed_at = at

    # ---------------------------------------------------------- pause / resume

    class Paused(Event):
        """The worker is being stopped to save money, for ``reason``."""

        TOPIC = "cml-fleet:CMLWorker.Paused"
        reason: PauseReason
        at: datetime
        idle_minutes: float | None

        def apply_to(self, worker: CMLWorker) -> None:
            record = PauseRecord(self.at, self.reason.value, self.actor, self.idle_minutes)
            worker.pause_history = (*worker.pause_history, record)[-PAUSE_HISTORY_LIMIT:]
            worker.last_paused_at = self.at
            if self.reason is PauseReason.IDLE_TIMEOUT:
                worker.auto_pause_count += 1
            elif self.reason is PauseReason.MANUAL:
                worker.manual_pause_count += 1
            else:
                worker.external_pause_count += 1
            after = status_after_pause(self.reason)
            if after is not None:
                worker._set_status(after, self.timestamp)

    def pause(
        self,
        reason: PauseReason,
        *,
        at: datetime,
        actor: str,
        correlation_id: str,
        idle_minutes: float | None = None,
    ) -> None:
        """Pause a running worker. ``external`` records a stop done outside cml-fleet."""
        allowed = {S.RUNNING} if reason is not PauseReason.EXTERNAL else {S.STOPPING, S.STOPPED}
        _guard("pause", self.status, frozenset(allowed))
        self.trigger_event(
            self.Paused,
            reason=reason,
            at=at,
            idle_minutes=idle_minutes,
            actor=actor,
            correlation_id=correlation_id,
        )

    def pause_if_idle(
        self,
        *,
        now: datetime,
        default_timeout: timedelta,
        snooze: timedelta,
        actor: str,
        correlation_id: str,
    ) -> bool:
        """Pause for ``idle_timeout`` if the worker is running, watched and idle long
        enough (its own timeout, else ``default_timeout``), outside the snooze period.

        Decided on the worker's own state at the moment of the change, so activity
        recorded concurrently (a conflict, then a reload) is never overlooked.
        Returns whether it paused.
        """
        if self.status is not S.RUNNING or not self.idle_detection_enabled:
            return False
        timeout = default_timeout
        if self.idle_timeout_minutes is not None:
            timeout = timedelta(minutes=self.idle_timeout_minutes)
        assessment = assess_idle(
            now=now,
            last_activity_at=self.last_activity_at,
            last_resumed_at=self.last_resumed_at,
            created_at=self.created_on,
            running_since=self.running_since,
            timeout=timeout,
            snooze=snooze,
        )
        if not assessment.eligible:
            return False
        idle_minutes = round((now - assessment.idle_since).total_seconds() / 60, 1)
        self.pause(
            PauseReason.IDLE_TIMEOUT,
            at=now,
            idle_minutes=idle_minutes,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    class Resumed(Event):
        """A paused worker is being started again; opens the snooze period."""

        TOPIC = "cml-fleet:CMLWorker.Resumed"
        reason: PauseReason
        at: datetime

        def apply_to(self, worker: CMLWorker) -> None:
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
            after = status_after_resume(self.reason)
            if after is not None:
                worker._set_status(after, self.timestamp)

    def resume(self, reason: PauseReason, *, at: datetime, actor: str, correlation_id: str) -> None:
        """Resume a stopped worker. ``external`` records a start done outside cml-fleet."""
        allowed = {S.STOPPED} if reason is not PauseReason.EXTERNAL else {S.STARTING, S.RUNNING}
        _guard("resume", self.status, frozenset(allowed))
        self.trigger_event(
            self.Resumed, reason=reason, at=at, actor=actor, correlation_id=correlation_id
        )

    # ------------------------------------------------------- service, endpoint

    class ServiceStatusChanged(Event):
        """The CML API on the worker became reachable, ready or unreachable."""

        TOPIC = "cml-fleet:CMLWorker.ServiceStatusChanged"
        service_status: ServiceStatus
        detail: str | None

        def apply_to(self, worker: CMLWorker) -> None:
            worker.service_status = self.service_status
            worker.service_detail = self.detail

    def change_service_status(
        self, status: ServiceStatus, *, detail: str | None, actor: str, correlation_id: str
    ) -> bool:
        if self.is_final or (status, detail) == (self.service_status, self.service_detail):
            return False
        self.trigger_event(
            self.ServiceStatusChanged,
            service_status=status,
            detail=detail,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    class EndpointChanged(Event):
        """The instance's addresses changed (e.g. a new public IP after a start)."""

        TOPIC = "cml-fleet:CMLWorker.EndpointChanged"
        public_ip: str | None
        private_ip: str | None
        public_dns: str | None

        def apply_to(self, worker: CMLWorker) -> None:
            worker.public_ip = self.public_ip
            worker.private_ip = self.private_ip
            worker.public_dns = self.public_dns

    def change_endpoint(
        self,
        *,
        public_ip: str | None,
        private_ip: str | None,
        public_dns: str | None,
        actor: str,
        correlation_id: str,
    ) -> bool:
        new = (public_ip, private_ip, public_dns)
        if self.is_final or new == (self.public_ip, self.private_ip, self.public_dns):
            return False
        self.trigger_event(
            self.EndpointChanged,
            public_ip=public_ip,
            private_ip=private_ip,
            public_dns=public_dns,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    # ------------------------------------------------------- metrics, activity

    class MetricsRecorded(Event):
        """Metrics changed materially (or the last recording went stale)."""

        TOPIC = "cml-fleet:CMLWorker.MetricsRecorded"
        changes: dict[str, Any]
        at: datetime

        def apply_to(self, worker: CMLWorker) -> None:
            worker.telemetry = worker.telemetry.updated(self.changes)
            worker.metrics_recorded_at = self.at

    def record_metrics(
        self,
        observed: Telemetry,
        *,
        at: datetime,
        thresholds: MetricThresholds,
        actor: str,
        correlation_id: str,
    ) -> bool:
        """Record an observation if it is material; returns whether it was."""
        if self.is_final:
            return False
        changes = material_changes(
            self.telemetry, observed, self.metrics_recorded_at, at, thresholds
        )
        if changes is None:
            return False
        self.trigger_event(
            self.MetricsRecorded, changes=changes, at=at, actor=actor, correlation_id=correlation_id
        )
        return True

    class ActivityRecorded(Event):
        """New relevant CML activity was seen (lab started, a user was active, ...)."""

        TOPIC = "cml-fleet:CMLWorker.ActivityRecorded"
        last_activity_at: datetime
        records: tuple[ActivityRecord, ...]
        cursor: str | None

        def apply_to(self, worker: CMLWorker) -> None:
            if worker.last_activity_at is None or self.last_activity_at > worker.last_activity_at:
                worker.last_activity_at = self.last_activity_at
            recent = tuple(worker.recent_activity) + tuple(self.records)
            worker.recent_activity = recent[-RECENT_ACTIVITY_LIMIT:]
            if self.cursor is not None:
                worker.activity_cursor = self.cursor

    def record_activity(
        self,
        records: tuple[ActivityRecord, ...],
        *,
        cursor: str | None,
        actor: str,
        correlation_id: str,
    ) -> bool:
        """Record activity newer than what is known; returns whether any was new."""
        fresh = tuple(
            r for r in records if self.last_activity_at is None or r.at > self.last_activity_at
        )
        if self.is_final or not fresh:
            return False
        self.trigger_event(
            self.ActivityRecorded,
            last_activity_at=max(r.at for r in fresh),
            records=fresh[-RECENT_ACTIVITY_LIMIT:],
            cursor=cursor,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    # ---------------------------------------------------------- idle detection

    class IdleDetectionToggled(Event):
        """Idle detection was switched on or off for this worker."""

        TOPIC = "cml-fleet:CMLWorker.IdleDetectionToggled"
        enabled: bool
        timeout_minutes: int | None

        def apply_to(self, worker: CMLWorker) -> None:
            worker.idle_detection_enabled = self.enabled
            worker.idle_timeout_minutes = self.timeout_minutes

    class IdleTimeoutChanged(Event):
        """The worker's own idle timeout changed (``None``: the global default)."""

        TOPIC = "cml-fleet:CMLWorker.IdleTimeoutChanged"
        timeout_minutes: int | None

        def apply_to(self, worker: CMLWorker) -> None:
            worker.idle_timeout_minutes = self.timeout_minutes

    def configure_idle_detection(
        self, enabled: bool, timeout_minutes: int | None, *, actor: str, correlation_id: str
    ) -> bool:
        """Switch idle detection and set the timeout; records only what changed."""
        _guard("configure idle detection of", self.status, LIVE_STATUSES)
        _check_timeout(timeout_minutes)
        if enabled != self.idle_detection_enabled:
            self.trigger_event(
                self.IdleDetectionToggled,
                enabled=enabled,
                timeout_minutes=timeout_minutes,
                actor=actor,
                correlation_id=correlation_id,
            )
            return True
        if timeout_minutes != self.idle_timeout_minutes:
            self.trigger_event(
                self.IdleTimeoutChanged,
                timeout_minutes=timeout_minutes,
                actor=actor,
                correlation_id=correlation_id,
            )
            return True
        return False

    # ----------------------------------------------------------------- license

    class LicenseRegistrationStarted(Event):
        """Registration was requested; only the token's fingerprint is kept."""

        TOPIC = "cml-fleet:CMLWorker.LicenseRegistrationStarted"
        token_fingerprint: str

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status_before_request = worker.license_status
            worker.license_request_version = self.originator_version
            worker.license_status = LicenseStatus.REGISTERING
            worker.license_fingerprint = self.token_fingerprint
            worker.license_detail = None

    def start_license_registration(
        self, token_fingerprint: str, *, actor: str, correlation_id: str
    ) -> None:
        _guard("register a license on", self.status, LIVE_STATUSES)
        self._guard_license("register a license on", _REGISTRABLE)
        self.trigger_event(
            self.LicenseRegistrationStarted,
            token_fingerprint=token_fingerprint,
            actor=actor,
            correlation_id=correlation_id,
        )

    class LicenseRegistrationCompleted(Event):
        TOPIC = "cml-fleet:CMLWorker.LicenseRegistrationCompleted"
        license_status: LicenseStatus

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status = self.license_status

    def complete_license_registration(
        self, status: LicenseStatus, *, actor: str, correlation_id: str
    ) -> None:
        self._guard_license("complete a registration on", {LicenseStatus.REGISTERING})
        self.trigger_event(
            self.LicenseRegistrationCompleted,
            license_status=status,
            actor=actor,
            correlation_id=correlation_id,
        )

    class LicenseRegistrationFailed(Event):
        TOPIC = "cml-fleet:CMLWorker.LicenseRegistrationFailed"
        reason: str

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status = LicenseStatus.FAILED
            worker.license_detail = self.reason

    def fail_license_registration(self, reason: str, *, actor: str, correlation_id: str) -> None:
        self._guard_license("fail a registration on", {LicenseStatus.REGISTERING})
        self.trigger_event(
            self.LicenseRegistrationFailed,
            reason=reason,
            actor=actor,
            correlation_id=correlation_id,
        )

    class LicenseDeregistrationStarted(Event):
        TOPIC = "cml-fleet:CMLWorker.LicenseDeregistrationStarted"

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status_before_request = worker.license_status
            worker.license_request_version = self.originator_version
            worker.license_status = LicenseStatus.DEREGISTERING
            worker.license_detail = None

    def start_license_deregistration(self, *, actor: str, correlation_id: str) -> None:
        _guard("deregister the license of", self.status, LIVE_STATUSES)
        self._guard_license("deregister the license of", _DEREGISTRABLE)
        self.trigger_event(
            self.LicenseDeregistrationStarted, actor=actor, correlation_id=correlation_id
        )

    class LicenseDeregistrationCompleted(Event):
        TOPIC = "cml-fleet:CMLWorker.LicenseDeregistrationCompleted"

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status = LicenseStatus.UNREGISTERED
            worker.license_fingerprint = None

    def complete_license_deregistration(self, *, actor: str, correlation_id: str) -> None:
        self._guard_license("complete a deregistration on", {LicenseStatus.DEREGISTERING})
        self.trigger_event(
            self.LicenseDeregistrationCompleted, actor=actor, correlation_id=correlation_id
        )

    class LicenseDeregistrationFailed(Event):
        TOPIC = "cml-fleet:CMLWorker.LicenseDeregistrationFailed"
        reason: str
        license_status: LicenseStatus

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status = self.license_status
            worker.license_detail = self.reason

    def fail_license_deregistration(
        self, reason: str, status: LicenseStatus, *, actor: str, correlation_id: str
    ) -> None:
        """Deregistration failed; ``status`` is what the license is left in."""
        self._guard_license("fail a deregistration on", {LicenseStatus.DEREGISTERING})
        self.trigger_event(
            self.LicenseDeregistrationFailed,
            reason=reason,
            license_status=status,
            actor=actor,
            correlation_id=correlation_id,
        )

    class LicenseStatusObserved(Event):
        """CML reports another license status than recorded (expired, deregistered
        elsewhere, registered by hand, ...), outside any operation of ours."""

        TOPIC = "cml-fleet:CMLWorker.LicenseStatusObserved"
        license_status: LicenseStatus
        detail: str | None

        def apply_to(self, worker: CMLWorker) -> None:
            worker.license_status = self.license_status
            worker.license_detail = self.detail
            if self.license_status is LicenseStatus.UNREGISTERED:
                worker.license_fingerprint = None

    def observe_license(
        self, status: LicenseStatus, *, detail: str | None, actor: str, correlation_id: str
    ) -> bool:
        """Record the license status CML reports, if it changed. While a registration
        or deregistration is in progress its outcome decides, not the observation.
        Returns whether an event was recorded."""
        in_progress = {LicenseStatus.REGISTERING, LicenseStatus.DEREGISTERING}
        if self.is_final or status is self.license_status or self.license_status in in_progress:
            return False
        self.trigger_event(
            self.LicenseStatusObserved,
            license_status=status,
            detail=detail,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    def _guard_license(self, action: str, allowed: set[LicenseStatus]) -> None:
        if self.license_status not in allowed:
            names = tuple(sorted(s.value for s in allowed))
            raise IllegalTransition(action, f"license {self.license_status.value}", names)

    # -------------------------------------------------------------------- tags

    class TagsChanged(Event):
        """Tags were added/changed and/or removed; others are untouched. Asked for
        through cml-fleet and ``to_ec2`` (to be written there), or ``observed``: changed
        in EC2 directly and seen there. Events stored before either field existed have
        both false: they were never written to EC2, and nothing is pending for them."""

        TOPIC = "cml-fleet:CMLWorker.TagsChanged"
        added: dict[str, str]
        removed: tuple[str, ...]
        observed: bool = False
        to_ec2: bool = False

        def apply_to(self, worker: CMLWorker) -> None:
            tags = {k: v for k, v in worker.tags.items() if k not in self.removed}
            tags.update(self.added)
            worker.tags = tags
            if self.to_ec2:
                worker.tags_pending_version = self.originator_version

    def change_tags(
        self,
        add: dict[str, str],
        remove: tuple[str, ...],
        *,
        actor: str,
        correlation_id: str,
    ) -> bool:
        """Apply a tag patch, to be written to EC2; records only real changes.
        Returns whether any."""
        _guard("change the tags of", self.status, LIVE_STATUSES | {S.TERMINATING})
        refuse_protected([*add, *remove])
        added = {k: v for k, v in add.items() if self.tags.get(k) != v}
        # A key both added and removed is set: the addition wins.
        removed = tuple(sorted(k for k in remove if k in self.tags and k not in add))
        if not added and not removed:
            return False
        refuse_past_limit({**{k: v for k, v in self.tags.items() if k not in removed}, **added})
        self.trigger_event(
            self.TagsChanged,
            added=added,
            removed=removed,
            to_ec2=True,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    def observe_tags(self, seen: dict[str, str], *, actor: str, correlation_id: str) -> bool:
        """Record the instance's tags as EC2 reports them (managed keys only), unless a
        change of ours is still on its way to EC2. Returns whether anything changed."""
        if self.is_final or self.tags_pending_version is not None:
            return False
        added, removed = tag_differences(self.tags, seen)
        if not added and not removed:
            return False
        self.trigger_event(
            self.TagsChanged,
            added=added,
            removed=removed,
            observed=True,
            actor=actor,
            correlation_id=correlation_id,
        )
        return True

    class TagsApplied(Event):
        """The tag change of ``version`` (and every one before it) is in EC2."""

        TOPIC = "cml-fleet:CMLWorker.TagsApplied"
        version: int

        def apply_to(self, worker: CMLWorker) -> None:
            pending = worker.tags_pending_version
            if pending is not None and pending <= self.version:
                worker.tags_pending_version = None

    def confirm_tags(self, version: int, *, actor: str, correlation_id: str) -> bool:
        """Record that the tag change of ``version`` was written to EC2 (nothing if
        no change up to it is pending)."""
        pending = self.tags_pending_version
        if pending is None or pending > version:
            return False
        self.trigger_event(
            self.TagsApplied, version=version, actor=actor, correlation_id=correlation_id
        )
        return True

    def fail_tag_change(self, reason: str, *, actor: str, correlation_id: str) -> None:
        """The pending tag change could not be written to EC2: say so, and let EC2's
        tags be observed again (they are the truth)."""
        if self.is_final or self.tags_pending_version is None:
            return
        self.trigger_event(
            self.OperationFailed,
            operation=TAG_OPERATION,
            reason=reason,
            status=self.status,
            actor=actor,
            correlation_id=correlation_id,
        )


TAG_OPERATION = "tags"
_UP = frozenset({S.STARTING, S.RUNNING})
_REGISTRABLE = {
    LicenseStatus.UNREGISTERED,
    LicenseStatus.FAILED,
    LicenseStatus.EXPIRED,
    LicenseStatus.EVALUATION,
}
_DEREGISTRABLE = {
    LicenseStatus.REGISTERED,
    LicenseStatus.EXPIRED,
    LicenseStatus.EVALUATION,
    LicenseStatus.FAILED,
}
MAX_IDLE_TIMEOUT_MINUTES = 7 * 24 * 60


def _check_timeout(minutes: int | None) -> None:
    if minutes is not None and not 1 <= minutes <= MAX_IDLE_TIMEOUT_MINUTES:
        raise InvalidValue(
            "idle_timeout_minutes", f"must be between 1 and {MAX_IDLE_TIMEOUT_MINUTES}"
        )
