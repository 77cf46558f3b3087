"""CMLWorkerDto: the one internal view of a worker, built only by ``map_worker_to_dto``.

Every field carries a ``doc`` in its metadata: the public contract (``contracts``) is
generated from these fields, so the field list is written once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class ActivityDto:
    """A recent relevant CML activity."""

    at: str = field(metadata=doc("When it happened, RFC 3339 UTC."))
    kind: str = field(metadata=doc("What happened, e.g. lab_started or user_activity."))
    detail: str = field(metadata=doc("Free text: lab, node or user concerned."))


@dataclass(frozen=True)
class PauseDto:
    """One pause of a worker and its resume, if any."""

    paused_at: str = field(metadata=doc("When the pause was recorded, RFC 3339 UTC."))
    reason: str = field(metadata=doc("manual, idle_timeout, external, schedule or budget."))
    actor: str = field(metadata=doc("Who paused it (user name, job or 'external')."))
    idle_minutes: float | None = field(metadata=doc("Idle minutes at an automatic pause."))
    resumed_at: str | None = field(metadata=doc("When it was resumed, RFC 3339 UTC."))
    resume_reason: str | None = field(metadata=doc("Why it was resumed."))
    resumed_by: str | None = field(metadata=doc("Who resumed it."))


@dataclass(frozen=True)
class CMLWorkerDto:
    """Everything a dashboard shows about one worker. No secret ever appears here."""

    id: str = field(metadata=doc("Worker id (UUID)."))
    version: int = field(metadata=doc("Aggregate version this view reflects."))
    name: str = field(metadata=doc("Human name of the worker."))
    region: str = field(metadata=doc("AWS region."))
    instance_type: str = field(metadata=doc("EC2 instance type."))
    ami_id: str | None = field(metadata=doc("AMI the instance was launched from."))
    launch_template: str | None = field(metadata=doc("Launch template used, if any."))
    instance_id: str | None = field(metadata=doc("EC2 instance id; null until provisioned."))
    status: str = field(metadata=doc("Lifecycle status (pending, running, stopped, ...)."))
    status_changed_at: str = field(metadata=doc("When the status last changed."))
    public_ip: str | None = field(metadata=doc("Public IPv4 address."))
    private_ip: str | None = field(metadata=doc("Private IPv4 address."))
    public_dns: str | None = field(metadata=doc("Public DNS name."))
    service_status: str = field(metadata=doc("CML API: unknown, reachable, ready, unreachable."))
    service_detail: str | None = field(metadata=doc("Why the service is in that status."))
    license_status: str = field(metadata=doc("CML license status."))
    license_token_fingerprint: str | None = field(
        metadata=doc("Short fingerprint of the registration token (never the token).")
    )
    license_detail: str | None = field(metadata=doc("Last license failure reason."))
    ec2_system_status: str | None = field(metadata=doc("EC2 system status check."))
    ec2_instance_status: str | None = field(metadata=doc("EC2 instance status check."))
    cpu_percent: float | None = field(metadata=doc("CPU use 0..100, CML first, else CloudWatch."))
    memory_percent: float | None = field(
        metadata=doc("Memory use 0..100, CML first, else CloudWatch.")
    )
    disk_percent: float | None = field(metadata=doc("Disk use 0..100 from CML."))
    cml_version: str | None = field(metadata=doc("CML version from system information."))
    cml_ready: bool | None = field(metadata=doc("CML reports itself ready."))
    cml_healthy: bool | None = field(metadata=doc("CML system health is valid."))
    labs_count: int | None = field(metadata=doc("Number of labs on the worker."))
    running_labs_count: int | None = field(metadata=doc("Labs with running nodes."))
    running_nodes_count: int | None = field(metadata=doc("Nodes running across labs."))
    metrics_recorded_at: str | None = field(metadata=doc("Last metrics recording."))
    last_activity_at: str | None = field(metadata=doc("Last relevant user activity."))
    recent_activity: tuple[ActivityDto, ...] = field(
        metadata=doc("Latest activities, oldest first.")
    )
    idle_detection_enabled: bool = field(metadata=doc("Idle auto-pause on for this worker."))
    idle_timeout_minutes: int = field(metadata=doc("Effective idle timeout in minutes."))
    idle_timeout_overridden: bool = field(
        metadata=doc("True when the worker has its own timeout rather than the global default.")
    )
    idle_since: str | None = field(metadata=doc("Idle since (running workers with detection on)."))
    auto_pause_due_at: str | None = field(metadata=doc("When an idle pause becomes due."))
    pause_history: tuple[PauseDto, ...] = field(metadata=doc("Latest pauses, oldest first."))
    last_paused_at: str | None = field(metadata=doc("Last pause."))
    last_resumed_at: str | None = field(metadata=doc("Last resume (starts the snooze period)."))
    auto_pause_count: int = field(metadata=doc("Pauses for idle timeout."))
    manual_pause_count: int = field(metadata=doc("Pauses asked by an operator."))
    external_pause_count: int = field(metadata=doc("Stops done outside cml-fleet."))
    resume_count: int = field(metadata=doc("Resumes of any reason."))
    tags: dict[str, str] = field(metadata=doc("Tags (key to value)."))
    created_at: str = field(metadata=doc("When the worker was recorded."))
    created_by: str = field(metadata=doc("Who recorded it."))
    updated_at: str = field(metadata=doc("When the last event was recorded."))
    last_actor: str = field(metadata=doc("Who made the last change."))
    last_correlation_id: str = field(metadata=doc("Correlation id of the last change."))
    terminated_at: str | None = field(metadata=doc("When the instance was terminated."))
    last_operation_error: str | None = field(
        default=None, metadata=doc("The last cloud operation that failed for good, and why.")
    )
    team: str | None = field(
        default=None, metadata=doc("Its team (the cml-fleet:team tag), or null for none.")
    )
    schedule: str | None = field(
        default=None,
        metadata=doc("The office-hours schedule it follows (the cml-fleet:schedule tag), or null."),
    )
    schedule_override_until: str | None = field(
        default=None,
        metadata=doc("Kept running until then whatever its schedule says (an operator's)."),
    )
    notice_down_at: str | None = field(
        default=None, metadata=doc("When its CML users were last warned it goes down.")
    )
    scheduled_pause_count: int = field(
        default=0, metadata=doc("Pauses by its office-hours schedule.")
    )
    budget_pause_count: int = field(default=0, metadata=doc("Pauses by an enforced budget."))
