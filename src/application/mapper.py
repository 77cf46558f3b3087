"""THE mapper: the only code that turns CMLWorker state into a CMLWorkerDto."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from application.dto import ActivityDto, CMLWorkerDto, PauseDto
from domain.policies import assess_idle
from domain.status import WorkerStatus
from domain.values import ActivityRecord, PauseRecord
from domain.worker import CMLWorker


@dataclass(frozen=True)
class IdleDefaults:
    """Fleet-wide idle settings the DTO needs to show a countdown."""

    timeout_minutes: int = 60
    snooze_minutes: int = 30
    enabled: bool = True


def rfc3339(moment: datetime | None) -> str | None:
    """UTC, RFC 3339, with a ``Z``; ``None`` stays ``None``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _required(moment: datetime) -> str:
    text = rfc3339(moment)
    assert text is not None
    return text


def round_percent(value: float | None) -> float | None:
    """A percentage to one decimal. Not clamped: readings are checked where they enter
    (``application.cml``'s parsers refuse impossible ones), never bent here."""
    return None if value is None else round(float(value), 1)


def prefer(primary: float | None, fallback: float | None) -> float | None:
    """CML's own figure when it has one; CloudWatch only when CML has none."""
    return round_percent(primary if primary is not None else fallback)


def map_worker_to_dto(worker: CMLWorker, idle: IdleDefaults = IdleDefaults()) -> CMLWorkerDto:
    t = worker.telemetry
    timeout = worker.idle_timeout_minutes or idle.timeout_minutes
    idle_since, due = _idle_window(worker, timeout, idle)
    return CMLWorkerDto(
        id=str(worker.id),
        version=worker.version,
        name=worker.name,
        region=worker.region,
        instance_type=worker.instance_type,
        ami_id=worker.ami_id,
        launch_template=worker.launch_template,
        instance_id=worker.instance_id,
        status=worker.status.value,
        status_changed_at=_required(worker.status_changed_at),
        public_ip=worker.public_ip,
        private_ip=worker.private_ip,
        public_dns=worker.public_dns,
        service_status=worker.service_status.value,
        service_detail=worker.service_detail,
        license_status=worker.license_status.value,
        license_token_fingerprint=worker.license_fingerprint,
        license_detail=worker.license_detail,
        ec2_system_status=t.ec2_system_status,
        ec2_instance_status=t.ec2_instance_status,
        cpu_percent=prefer(t.cml_cpu_percent, t.cw_cpu_percent),
        memory_percent=prefer(t.cml_memory_percent, t.cw_memory_percent),
        disk_percent=round_percent(t.cml_disk_percent),
        cml_version=t.cml_version,
        cml_ready=t.cml_ready,
        cml_healthy=t.cml_healthy,
        labs_count=t.labs_count,
        running_labs_count=t.running_labs_count,
        running_nodes_count=t.running_nodes_count,
        metrics_recorded_at=rfc3339(worker.metrics_recorded_at),
        last_activity_at=rfc3339(worker.last_activity_at),
        recent_activity=tuple(_activity(r) for r in worker.recent_activity),
        idle_detection_enabled=worker.idle_detection_enabled,
        idle_timeout_minutes=timeout,
        idle_timeout_overridden=worker.idle_timeout_minutes is not None,
        idle_since=rfc3339(idle_since),
        auto_pause_due_at=rfc3339(due),
        pause_history=tuple(_pause(p) for p in worker.pause_history),
        last_paused_at=rfc3339(worker.last_paused_at),
        last_resumed_at=rfc3339(worker.last_resumed_at),
        auto_pause_count=worker.auto_pause_count,
        manual_pause_count=worker.manual_pause_count,
        external_pause_count=worker.external_pause_count,
        resume_count=worker.resume_count,
        tags=dict(sorted(worker.tags.items())),
        team=worker.team,
        schedule=worker.schedule,
        schedule_override_until=rfc3339(worker.schedule_override_until),
        scheduled_pause_count=worker.scheduled_pause_count,
        budget_pause_count=worker.budget_pause_count,
        notice_down_at=rfc3339(worker.notice_down_at),
        created_at=_required(worker.created_on),
        created_by=worker.created_by,
        updated_at=_required(worker.modified_on),
        last_actor=worker.last_actor,
        last_correlation_id=worker.last_correlation_id,
        terminated_at=rfc3339(worker.terminated_at),
        last_operation_error=worker.last_operation_error,
    )


def _idle_window(
    worker: CMLWorker, timeout_minutes: int, idle: IdleDefaults
) -> tuple[datetime | None, datetime | None]:
    """Idle since / pause due, shown only where an auto-pause could happen."""
    watched = idle.enabled and worker.idle_detection_enabled
    if not watched or worker.status is not WorkerStatus.RUNNING:
        return None, None
    assessment = assess_idle(
        now=worker.modified_on,  # unused for the window itself; eligibility is the job's
        last_activity_at=worker.last_activity_at,
        last_resumed_at=worker.last_resumed_at,
        created_at=worker.created_on,
        running_since=worker.running_since,
        timeout=timedelta(minutes=timeout_minutes),
        snooze=timedelta(minutes=idle.snooze_minutes),
    )
    return assessment.idle_since, assessment.pause_due_at


def _activity(record: ActivityRecord) -> ActivityDto:
    return ActivityDto(at=_required(record.at), kind=record.kind, detail=record.detail)


def _pause(record: PauseRecord) -> PauseDto:
    return PauseDto(
        paused_at=_required(record.paused_at),
        reason=record.reason,
        actor=record.actor,
        idle_minutes=record.idle_minutes,
        resumed_at=rfc3339(record.resumed_at),
        resume_reason=record.resume_reason,
        resumed_by=record.resumed_by,
    )
