"""What a worker is, as its events leave it: the state of the ``CMLWorker`` aggregate,
apart from the methods that decide (``worker``) and the events that change it
(``worker_events``), so both can be read, and type-checked, against it."""

from __future__ import annotations

from datetime import datetime

from domain.license import License
from domain.status import (
    FINAL_STATUSES,
    UP_STATUSES,
    LicenseStatus,
    ServiceStatus,
    WorkerStatus,
)
from domain.tags import SCHEDULE_TAG, TEAM_TAG
from domain.values import ActivityRecord, PauseRecord, Telemetry

TAG_OPERATION = "tags"  # the operation a failed tag write is recorded as


class WorkerState:
    """The worker's fields. Those added after workers were first stored have a class
    value: snapshots taken before lack them, and an old worker starts from it."""

    name: str
    region: str
    instance_type: str
    ami_id: str | None
    launch_template: str | None
    instance_id: str | None
    status: WorkerStatus
    status_changed_at: datetime
    running_since: datetime | None
    last_operation_error: str | None
    public_ip: str | None
    private_ip: str | None
    public_dns: str | None
    service_status: ServiceStatus
    service_detail: str | None
    license_status: LicenseStatus
    license_fingerprint: str | None
    license_detail: str | None
    license_request_version: int | None = None
    license_status_before_request: LicenseStatus | None = None
    telemetry: Telemetry
    metrics_recorded_at: datetime | None
    last_activity_at: datetime | None
    recent_activity: tuple[ActivityRecord, ...]
    activity_cursor: str | None
    idle_detection_enabled: bool
    idle_timeout_minutes: int | None
    pause_history: tuple[PauseRecord, ...]
    last_paused_at: datetime | None
    last_resumed_at: datetime | None
    auto_pause_count: int
    manual_pause_count: int
    external_pause_count: int
    scheduled_pause_count: int = 0
    """Pauses by an office-hours schedule (added after workers were first stored)."""
    budget_pause_count: int = 0
    """Pauses by an enforced budget (added after workers were first stored)."""
    resume_count: int
    tags: dict[str, str]
    tags_pending_version: int | None = None
    """Version of the last tag change not yet written to EC2 (``None``: none pending)."""
    lab_operations_pending: tuple[int, ...] = ()
    """Versions of the lab operations requested and not yet done or failed."""
    schedule_override_until: datetime | None = None
    """An operator's "keep it running until then": its schedule does not stop it before."""
    notice_down_at: datetime | None = None
    """When its CML users were last told it goes down (a system notice)."""
    created_by: str
    last_actor: str
    last_correlation_id: str
    terminated_at: datetime | None

    @property
    def team(self) -> str | None:
        """The worker's team: its ``cml-fleet:team`` tag (``domain.tags.TEAM_TAG``)."""
        return self.tags.get(TEAM_TAG)

    @property
    def schedule(self) -> str | None:
        """The office-hours schedule it follows: its ``cml-fleet:schedule`` tag."""
        return self.tags.get(SCHEDULE_TAG)

    @property
    def is_final(self) -> bool:
        """Terminated or released: no longer managed, observations are ignored."""
        return self.status in FINAL_STATUSES

    @property
    def license(self) -> License:
        """The license as its own value (stored as the ``license_*`` fields)."""
        return License(
            self.license_status,
            self.license_fingerprint,
            self.license_detail,
            self.license_request_version,
            self.license_status_before_request,
        )

    def set_license(self, value: License) -> None:
        self.license_status = value.status
        self.license_fingerprint = value.fingerprint
        self.license_detail = value.detail
        self.license_request_version = value.request_version
        self.license_status_before_request = value.status_before_request

    def set_status(self, status: WorkerStatus, at: datetime) -> None:
        if status is self.status:
            return
        if status in UP_STATUSES and self.status not in UP_STATUSES:
            self.running_since = at  # a (re)started worker is not idle since long ago
        self.status = status
        self.status_changed_at = at
