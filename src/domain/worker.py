"""The CMLWorker aggregate: one EC2 instance running Cisco Modeling Labs.

Each method decides: it guards the transition and records the event that makes it
(``worker_events``, which say what each changes in the state, ``worker_state``). Every
method takes the change's :class:`~domain.cause.Cause`. Times that matter to the domain
arrive as data (``at``); the library stamps each event with its own ``timestamp`` too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeAlias
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import worker_events as events
from domain.cause import Cause
from domain.errors import DomainError, IllegalTransition, InvalidValue
from domain.labs import (
    MAX_PENDING_LAB_OPERATIONS,
    LabImport,
    LabOperation,
    NotReadyForLabs,
    TooManyLabOperations,
)
from domain.license import DEREGISTRABLE, REGISTRABLE
from domain.policies import ExternalChange, assess_idle, external_change, material_changes
from domain.schedules import schedule_name
from domain.spec import WorkerSpec
from domain.status import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    RECENT_ACTIVITY_LIMIT,
    UP_STATUSES,
    LicenseStatus,
    PauseReason,
    ServiceStatus,
    WorkerStatus,
)
from domain.tags import (
    SCHEDULE_TAG,
    TEAM_TAG,
    managed,
    refuse_past_limit,
    refuse_protected,
    refuse_team_patch,
    refuse_too_many,
    team_name,
)
from domain.tags import differences as tag_differences
from domain.values import ActivityRecord, MetricThresholds, Telemetry
from domain.worker_state import TAG_OPERATION, WorkerState

S = WorkerStatus
L = LicenseStatus
MAX_IDLE_TIMEOUT_MINUTES = 7 * 24 * 60


MAX_OVERRIDE = timedelta(days=7)
"""How far ahead an operator may keep a worker running against its schedule."""


class OverrideOutOfRange(DomainError):
    """An override that ends in the past or more than a week ahead (409: it depends on
    when it is asked)."""

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(
            f"until {until.isoformat()} is not within the coming 7 days (it is now "
            f"{now.isoformat(timespec='seconds')})"
        )


def _guard(action: str, current: WorkerStatus, allowed: frozenset[WorkerStatus]) -> None:
    if current not in allowed:
        names = tuple(sorted(s.value for s in allowed))
        raise IllegalTransition(action, current.value, names)


class CMLWorker(WorkerState, Aggregate):
    """A CML worker and everything cml-fleet knows about it."""

    TOPIC = "cml-fleet:CMLWorker"

    # Its events, by name (the library registers their topics from here).
    Event: TypeAlias = events.WorkerEvent
    Created: TypeAlias = events.Created
    Imported: TypeAlias = events.Imported
    InstanceAssigned: TypeAlias = events.InstanceAssigned
    StatusChanged: TypeAlias = events.StatusChanged
    StartRequested: TypeAlias = events.StartRequested
    StopRequested: TypeAlias = events.StopRequested
    TerminateRequested: TypeAlias = events.TerminateRequested
    Terminated: TypeAlias = events.Terminated
    Released: TypeAlias = events.Released
    OperationFailed: TypeAlias = events.OperationFailed
    Paused: TypeAlias = events.Paused
    Resumed: TypeAlias = events.Resumed
    ServiceStatusChanged: TypeAlias = events.ServiceStatusChanged
    EndpointChanged: TypeAlias = events.EndpointChanged
    MetricsRecorded: TypeAlias = events.MetricsRecorded
    ActivityRecorded: TypeAlias = events.ActivityRecorded
    IdleDetectionToggled: TypeAlias = events.IdleDetectionToggled
    IdleTimeoutChanged: TypeAlias = events.IdleTimeoutChanged
    LicenseRegistrationStarted: TypeAlias = events.LicenseRegistrationStarted
    LicenseRegistrationCompleted: TypeAlias = events.LicenseRegistrationCompleted
    LicenseRegistrationFailed: TypeAlias = events.LicenseRegistrationFailed
    LicenseDeregistrationStarted: TypeAlias = events.LicenseDeregistrationStarted
    LicenseDeregistrationCompleted: TypeAlias = events.LicenseDeregistrationCompleted
    LicenseDeregistrationFailed: TypeAlias = events.LicenseDeregistrationFailed
    LicenseStatusObserved: TypeAlias = events.LicenseStatusObserved
    TagsChanged: TypeAlias = events.TagsChanged
    TagsApplied: TypeAlias = events.TagsApplied
    LabOperationRequested: TypeAlias = events.LabOperationRequested
    LabOperationDone: TypeAlias = events.LabOperationDone
    LabOperationFailed: TypeAlias = events.LabOperationFailed
    TeamChanged: TypeAlias = events.TeamChanged
    ScheduleOverridden: TypeAlias = events.ScheduleOverridden
    NoticePosted: TypeAlias = events.NoticePosted

    def _record(self, event: type[events.WorkerEvent], cause: Cause, **fields: Any) -> None:
        self.trigger_event(event, actor=cause.actor, correlation_id=cause.correlation_id, **fields)

    # ---------------------------------------------------------------- creation

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
        self.name, self.region, self.instance_type = name, region, instance_type
        self.ami_id, self.launch_template, self.instance_id = ami_id, launch_template, instance_id
        self.status = observed
        self.status_changed_at = self.created_on
        self.running_since = self.created_on if observed in UP_STATUSES else None
        self.last_operation_error = None
        self.public_ip = self.private_ip = self.public_dns = None
        self.service_status, self.service_detail = ServiceStatus.UNKNOWN, None
        self.license_status = LicenseStatus.UNREGISTERED
        self.license_fingerprint = self.license_detail = None
        self.telemetry, self.metrics_recorded_at = Telemetry(), None
        self.last_activity_at, self.recent_activity, self.activity_cursor = None, (), None
        self.idle_detection_enabled = idle_detection_enabled
        self.idle_timeout_minutes = idle_timeout_minutes
        self.pause_history, self.last_paused_at, self.last_resumed_at = (), None, None
        self.auto_pause_count = self.manual_pause_count = self.external_pause_count = 0
        self.scheduled_pause_count = self.budget_pause_count = 0
        self.resume_count = 0
        self.tags = dict(tags or {})
        self.created_by = self.last_actor = actor
        self.last_correlation_id = correlation_id
        self.terminated_at = None

    @classmethod
    def create(
        cls,
        spec: WorkerSpec,
        *,
        cause: Cause,
        launch_template: str | None = None,
        id: UUID | None = None,
    ) -> CMLWorker:
        """Record a request for a new worker (the instance is provisioned later)."""
        if spec.ami_id is None and launch_template is None:
            raise InvalidValue("ami_id", "an AMI id or a launch template is required")
        refuse_protected(spec.tags)
        refuse_too_many(spec.tags)
        team_name(spec.tags.get(TEAM_TAG))
        if SCHEDULE_TAG in spec.tags:
            schedule_name(spec.tags[SCHEDULE_TAG])
        return cls._new(
            cls.Created, spec, dict(spec.tags), cause, id, launch_template=launch_template
        )

    @classmethod
    def import_instance(
        cls,
        spec: WorkerSpec,
        *,
        instance_id: str,
        observed: WorkerStatus,
        cause: Cause,
        id: UUID | None = None,
    ) -> CMLWorker:
        """Take an existing EC2 instance under management. Its protected tags (see
        :mod:`domain.tags`) are not the worker's to manage and are left out."""
        tags = managed(spec.tags)
        return cls._new(
            cls.Imported, spec, tags, cause, id, instance_id=instance_id, observed=observed
        )

    @classmethod
    def _new(
        cls,
        event: type[events.Created | events.Imported],
        spec: WorkerSpec,
        tags: dict[str, str],
        cause: Cause,
        id: UUID | None,
        **how: Any,
    ) -> CMLWorker:
        """The first event of a worker: what it is (``spec``), and how it came (``how``)."""
        _check_timeout(spec.idle_timeout_minutes)
        return cls._create(
            event,
            id=id,
            name=spec.name,
            region=spec.region,
            instance_type=spec.instance_type,
            ami_id=spec.ami_id,
            tags=tags,
            idle_detection_enabled=spec.idle_detection_enabled,
            idle_timeout_minutes=spec.idle_timeout_minutes,
            actor=cause.actor,
            correlation_id=cause.correlation_id,
            **how,
        )

    # --------------------------------------------------------------- lifecycle

    def assign_instance(self, instance_id: str, *, cause: Cause) -> None:
        _guard("assign an instance to", self.status, frozenset({S.PENDING}))
        self._record(self.InstanceAssigned, cause, instance_id=instance_id)

    def observe_status(
        self,
        status: WorkerStatus,
        *,
        cause: Cause,
        at: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record what EC2 says. Facts are not refused, but a terminated or released
        worker stays so.

        Returns whether an event was recorded. Termination is recorded as
        ``Terminated``, with ``reason`` (why it ended, for its history). Given ``at``
        (when it was seen), a stop or start nobody in cml-fleet asked for is also
        recorded, as an ``external`` pause or resume, so counters, history and the
        snooze period stay right.
        """
        if self.is_final or status is self.status:
            return False
        if status is S.TERMINATED:
            self.record_termination(reason, cause=cause)
            return True
        previous = self.status
        self._record(self.StatusChanged, cause, previous=previous, status=status)
        if at is not None:
            self._record_external(external_change(previous, status), at, cause)
        return True

    def _record_external(self, change: ExternalChange | None, at: datetime, cause: Cause) -> None:
        if change is ExternalChange.STOP:
            self.pause(PauseReason.EXTERNAL, at=at, cause=cause)
        elif change is ExternalChange.START:
            self.resume(PauseReason.EXTERNAL, at=at, cause=cause)

    def request_start(self, *, cause: Cause) -> None:
        _guard("start", self.status, frozenset({S.STOPPED}))
        self._record(self.StartRequested, cause)

    def request_stop(self, *, cause: Cause) -> None:
        _guard("stop", self.status, frozenset({S.RUNNING, S.STARTING, S.PROVISIONING}))
        self._record(self.StopRequested, cause)

    def request_terminate(self, *, cause: Cause) -> None:
        _guard("terminate", self.status, LIVE_STATUSES)
        self._record(self.TerminateRequested, cause)

    def record_termination(self, reason: str | None, *, cause: Cause) -> bool:
        """Record that the instance is gone (nothing if already final)."""
        if self.is_final:
            return False
        self._record(self.Terminated, cause, reason=reason)
        return True

    def release(self, reason: str, *, cause: Cause) -> None:
        """Stop managing the worker, whatever its status (a stuck ``terminating``, an
        instance gone or in a region that does not answer), except a final one."""
        if self.is_final:
            names = tuple(sorted(s.value for s in set(S) - FINAL_STATUSES))
            raise IllegalTransition("release", self.status.value, names)
        reason = reason.strip()
        if not reason:
            raise InvalidValue("reason", "say why the worker is released")
        self._record(self.Released, cause, reason=reason, previous=self.status)

    def fail_operation(
        self, operation: str, reason: str, status: WorkerStatus, *, cause: Cause
    ) -> None:
        """Record that ``operation`` failed permanently, leaving the worker in ``status``."""
        if self.is_final:
            return
        self._record(self.OperationFailed, cause, operation=operation, reason=reason, status=status)

    # ---------------------------------------------------------- pause / resume

    def pause(
        self,
        reason: PauseReason,
        *,
        at: datetime,
        cause: Cause,
        idle_minutes: float | None = None,
    ) -> None:
        """Pause a running worker. ``external`` records a stop done outside cml-fleet."""
        allowed = {S.RUNNING} if reason is not PauseReason.EXTERNAL else {S.STOPPING, S.STOPPED}
        _guard("pause", self.status, frozenset(allowed))
        self._record(self.Paused, cause, reason=reason, at=at, idle_minutes=idle_minutes)

    def pause_if_idle(
        self, *, now: datetime, default_timeout: timedelta, snooze: timedelta, cause: Cause
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
        self.pause(PauseReason.IDLE_TIMEOUT, at=now, idle_minutes=idle_minutes, cause=cause)
        return True

    def resume(self, reason: PauseReason, *, at: datetime, cause: Cause) -> None:
        """Resume a stopped worker. ``external`` records a start done outside cml-fleet."""
        allowed = {S.STOPPED} if reason is not PauseReason.EXTERNAL else {S.STARTING, S.RUNNING}
        _guard("resume", self.status, frozenset(allowed))
        self._record(self.Resumed, cause, reason=reason, at=at)

    # ------------------------------------------------------- service, endpoint

    def change_service_status(
        self, status: ServiceStatus, *, detail: str | None, cause: Cause
    ) -> bool:
        if self.is_final or (status, detail) == (self.service_status, self.service_detail):
            return False
        self._record(self.ServiceStatusChanged, cause, service_status=status, detail=detail)
        return True

    def change_endpoint(
        self,
        *,
        public_ip: str | None,
        private_ip: str | None,
        public_dns: str | None,
        cause: Cause,
    ) -> bool:
        new = (public_ip, private_ip, public_dns)
        if self.is_final or new == (self.public_ip, self.private_ip, self.public_dns):
            return False
        self._record(
            self.EndpointChanged,
            cause,
            public_ip=public_ip,
            private_ip=private_ip,
            public_dns=public_dns,
        )
        return True

    # ------------------------------------------------------- metrics, activity

    def record_metrics(
        self, observed: Telemetry, *, at: datetime, thresholds: MetricThresholds, cause: Cause
    ) -> bool:
        """Record an observation if it is material; returns whether it was."""
        if self.is_final:
            return False
        changes = material_changes(
            self.telemetry, observed, self.metrics_recorded_at, at, thresholds
        )
        if changes is None:
            return False
        self._record(self.MetricsRecorded, cause, changes=changes, at=at)
        return True

    def record_activity(
        self, records: tuple[ActivityRecord, ...], *, cursor: str | None, cause: Cause
    ) -> bool:
        """Record activity newer than what is known; returns whether any was new."""
        fresh = tuple(
            r for r in records if self.last_activity_at is None or r.at > self.last_activity_at
        )
        if self.is_final or not fresh:
            return False
        self._record(
            self.ActivityRecorded,
            cause,
            last_activity_at=max(r.at for r in fresh),
            records=fresh[-RECENT_ACTIVITY_LIMIT:],
            cursor=cursor,
        )
        return True

    # ---------------------------------------------------------- idle detection

    def configure_idle_detection(
        self, enabled: bool, timeout_minutes: int | None, *, cause: Cause
    ) -> bool:
        """Switch idle detection and set the timeout; records only what changed."""
        _guard("configure idle detection of", self.status, LIVE_STATUSES)
        _check_timeout(timeout_minutes)
        if enabled != self.idle_detection_enabled:
            toggled = self.IdleDetectionToggled
            self._record(toggled, cause, enabled=enabled, timeout_minutes=timeout_minutes)
            return True
        if timeout_minutes != self.idle_timeout_minutes:
            self._record(self.IdleTimeoutChanged, cause, timeout_minutes=timeout_minutes)
            return True
        return False

    def override_schedule(self, until: datetime | None, *, now: datetime, cause: Cause) -> bool:
        """Keep the worker running until ``until`` whatever its schedule says (``None``:
        lift it). At most a week ahead; records only a change."""
        _guard("override the schedule of", self.status, LIVE_STATUSES)
        if until is not None:
            if until.tzinfo is None:
                raise InvalidValue("until", "give a time with its offset (RFC 3339)")
            if not now < until <= now + MAX_OVERRIDE:
                raise OverrideOutOfRange(until, now)
        if until == self.schedule_override_until:
            return False
        self._record(self.ScheduleOverridden, cause, until=until)
        return True

    def record_notice(
        self, action: str, down_at: datetime, notice_id: str, lead_minutes: int, *, cause: Cause
    ) -> bool:
        """Its CML users were warned ``lead_minutes`` ahead that it goes down at
        ``down_at``; once per time."""
        if self.is_final or self.notice_down_at == down_at:
            return False
        self._record(self.NoticePosted, cause, action=action, down_at=down_at,
                     notice_id=notice_id, lead_minutes=lead_minutes)  # fmt: skip
        return True

    # ----------------------------------------------------------------- license
    # The transitions and their guards are the License value's (domain.license).

    def start_license_registration(self, token_fingerprint: str, *, cause: Cause) -> None:
        _guard("register a license on", self.status, LIVE_STATUSES)
        self.license.check("register a license on", REGISTRABLE)
        started = self.LicenseRegistrationStarted
        self._record(started, cause, token_fingerprint=token_fingerprint)

    def complete_license_registration(self, status: LicenseStatus, *, cause: Cause) -> None:
        self.license.check("complete a registration on", frozenset({L.REGISTERING}))
        self._record(self.LicenseRegistrationCompleted, cause, license_status=status)

    def fail_license_registration(self, reason: str, *, cause: Cause) -> None:
        self.license.check("fail a registration on", frozenset({L.REGISTERING}))
        self._record(self.LicenseRegistrationFailed, cause, reason=reason)

    def start_license_deregistration(self, *, cause: Cause) -> None:
        _guard("deregister the license of", self.status, LIVE_STATUSES)
        self.license.check("deregister the license of", DEREGISTRABLE)
        self._record(self.LicenseDeregistrationStarted, cause)

    def complete_license_deregistration(self, *, cause: Cause) -> None:
        self.license.check("complete a deregistration on", frozenset({L.DEREGISTERING}))
        self._record(self.LicenseDeregistrationCompleted, cause)

    def fail_license_deregistration(
        self, reason: str, status: LicenseStatus, *, cause: Cause
    ) -> None:
        """Deregistration failed; ``status`` is what the license is left in."""
        self.license.check("fail a deregistration on", frozenset({L.DEREGISTERING}))
        failed = self.LicenseDeregistrationFailed
        self._record(failed, cause, reason=reason, license_status=status)

    def observe_license(self, status: LicenseStatus, *, detail: str | None, cause: Cause) -> bool:
        """Record the license status CML reports, if it changed. While a registration
        or deregistration is in progress its outcome decides, not the observation.
        Returns whether an event was recorded."""
        if self.is_final or not self.license.observation_matters(status):
            return False
        self._record(self.LicenseStatusObserved, cause, license_status=status, detail=detail)
        return True

    # -------------------------------------------------------------------- tags

    def change_tags(self, add: dict[str, str], remove: tuple[str, ...], *, cause: Cause) -> bool:
        """Apply a tag patch, to be written to EC2; records only real changes.
        Returns whether any."""
        _guard("change the tags of", self.status, LIVE_STATUSES | {S.TERMINATING})
        refuse_protected([*add, *remove])
        refuse_team_patch([*add, *remove])
        if SCHEDULE_TAG in add:
            schedule_name(add[SCHEDULE_TAG])
        added = {k: v for k, v in add.items() if self.tags.get(k) != v}
        # A key both added and removed is set: the addition wins.
        removed = tuple(sorted(k for k in remove if k in self.tags and k not in add))
        if not added and not removed:
            return False
        refuse_past_limit({**{k: v for k, v in self.tags.items() if k not in removed}, **added})
        self._record(self.TagsChanged, cause, added=added, removed=removed, to_ec2=True)
        return True

    def observe_tags(self, seen: dict[str, str], *, cause: Cause) -> bool:
        """Record the instance's tags as EC2 reports them (managed keys only), unless a
        change of ours is still on its way to EC2. Returns whether anything changed."""
        if self.is_final or self.tags_pending_version is not None:
            return False
        added, removed = tag_differences(self.tags, seen)
        if not added and not removed:
            return False
        before = self.team
        self._record(self.TagsChanged, cause, added=added, removed=removed, observed=True)
        if self.team != before:
            self._record(self.TeamChanged, cause, team=self.team, previous=before)
        return True

    def assign_team(self, team: str | None, *, cause: Cause) -> bool:
        """Put the worker in ``team`` (``None``: in none). Written to EC2 as the
        ``cml-fleet:team`` tag; returns whether it changed."""
        team = team_name(team)
        _guard("change the team of", self.status, LIVE_STATUSES | {S.TERMINATING})
        before = self.team
        if team == before:
            return False
        added = {} if team is None else {TEAM_TAG: team}
        removed = (TEAM_TAG,) if team is None else ()
        if team is not None:
            refuse_past_limit({**self.tags, **added})
        self._record(self.TagsChanged, cause, added=added, removed=removed, to_ec2=True)
        self._record(self.TeamChanged, cause, team=team, previous=before)
        return True

    def confirm_tags(self, version: int, *, cause: Cause) -> bool:
        """Record that the tag change of ``version`` was written to EC2 (nothing if
        no change up to it is pending)."""
        pending = self.tags_pending_version
        if pending is None or pending > version:
            return False
        self._record(self.TagsApplied, cause, version=version)
        return True

    def fail_tag_change(self, reason: str, *, cause: Cause) -> None:
        """The pending tag change could not be written to EC2: say so, and let EC2's
        tags be observed again (they are the truth)."""
        if self.is_final or self.tags_pending_version is None:
            return
        self._record(
            self.OperationFailed, cause, operation=TAG_OPERATION, reason=reason, status=self.status
        )

    # -------------------------------------------------------------------- labs

    def request_lab_operation(
        self, operation: LabOperation, *, cause: Cause, import_of: LabImport | None = None
    ) -> None:
        """Ask for ``operation``; only on a running worker whose CML is ready, with at
        most ``MAX_PENDING_LAB_OPERATIONS`` still under way."""
        if self.status is not S.RUNNING or self.service_status is not ServiceStatus.READY:
            raise NotReadyForLabs(self.status.value, self.service_status.value)
        if len(self.lab_operations_pending) >= MAX_PENDING_LAB_OPERATIONS:
            raise TooManyLabOperations(MAX_PENDING_LAB_OPERATIONS)
        extra = {} if import_of is None else import_of.fields()
        requested = self.LabOperationRequested
        self._record(requested, cause, operation=operation.kind, lab_id=operation.lab_id, **extra)

    def complete_lab_operation(
        self, request_version: int, done: LabOperation, lab_state: str | None, *, cause: Cause
    ) -> bool:
        """Record the outcome of the request at ``request_version`` (nothing if it has
        one already). Returns whether recorded."""
        assert done.lab_id is not None
        return self._end_lab_operation(
            self.LabOperationDone, request_version, done, cause, lab_state=lab_state
        )

    def fail_lab_operation(
        self, request_version: int, failed: LabOperation, reason: str, *, cause: Cause
    ) -> bool:
        return self._end_lab_operation(
            self.LabOperationFailed, request_version, failed, cause, reason=reason
        )

    def _end_lab_operation(
        self,
        event: type[events.WorkerEvent],
        request_version: int,
        operation: LabOperation,
        cause: Cause,
        **outcome: Any,
    ) -> bool:
        if request_version not in self.lab_operations_pending:
            return False
        self._record(
            event,
            cause,
            request_version=request_version,
            operation=operation.kind,
            lab_id=operation.lab_id,
            **outcome,
        )
        return True


def _check_timeout(minutes: int | None) -> None:
    if minutes is not None and not 1 <= minutes <= MAX_IDLE_TIMEOUT_MINUTES:
        raise InvalidValue(
            "idle_timeout_minutes", f"must be between 1 and {MAX_IDLE_TIMEOUT_MINUTES}"
        )
