"""Public contracts of the SSE stream (v1): the CloudEvents envelope and every payload.

One model per notification type (:data:`PAYLOAD_CONTRACTS`, keyed by type), the
control frames (``hello``, ``stream.resync``) and ``worker.snapshot`` (the worker view
generated from the DTO, plus the position it reflects). Each payload model repeats
the catalogue's field names: a unit test checks that every mapped payload has exactly
these fields and validates against its model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from application.contracts.base import schema_id
from application.contracts.responses import BudgetView, ScheduleView, WebhookView
from application.contracts.worker_view import WorkerView

NULL_STATUS = "Worker status after the event; null when the event leaves it unchanged."


class NotificationContract(BaseModel):
    """Common config of the stream's contracts: frozen; clients ignore unknown fields."""

    model_config = ConfigDict(frozen=True)


class CloudEventEnvelope(NotificationContract):
    """Every frame's ``data:`` line: a CloudEvents 1.0 event in structured JSON mode."""

    specversion: Literal["1.0"] = Field(description="CloudEvents version.")
    id: str = Field(
        description="Event id: the event-log position for stored events, a UUID otherwise."
    )
    type: str = Field(description="Notification type, e.g. worker.paused (also the SSE event).")
    source: str = Field(description="Producer, always /cml-fleet.")
    time: str = Field(description="When it happened, RFC 3339 UTC with Z.")
    subject: str | None = Field(None, description="Worker id the event is about, if any.")
    datacontenttype: Literal["application/json"] = Field(description="Media type of data.")
    dataschema: str = Field(description="Schema id of data (urn:cml-fleet:schema:v1:<Model>).")
    correlationid: str | None = Field(
        None, description="Correlation id of the request that caused it (extension)."
    )
    sequence: int | None = Field(
        None,
        description="Event-log position (extension); null on frames not from a stored event.",
    )
    data: dict[str, Any] = Field(description="The payload, described by dataschema.")


# --------------------------------------------------------------- control frames


class StreamHello(NotificationContract):
    """First frame to a new subscriber; worker.snapshot frames follow."""

    position: int = Field(description="Event-log position the following snapshots reflect.")
    workers: int = Field(
        description="Number of workers whose snapshots follow (one worker.snapshot frame "
        "each, or in worker.snapshots frames with ?snapshots=batched)."
    )
    worker_filter: tuple[str, ...] | None = Field(
        None, description="Worker ids the stream is limited to; null: all workers."
    )
    type_filter: str | None = Field(None, description="Type prefix filter; null: all types.")


class StreamResync(NotificationContract):
    """The stream cannot resume from Last-Event-ID; fresh snapshots follow."""

    reason: Literal["gap_too_large", "unknown_id"] = Field(description="Why no replay.")
    last_event_id: str = Field(description="The Last-Event-ID the client sent.")
    position: int = Field(description="Event-log position the following snapshots reflect.")
    workers: int = Field(
        description="Number of workers whose snapshots follow (one worker.snapshot frame "
        "each, or in worker.snapshots frames with ?snapshots=batched)."
    )


_SNAPSHOT_POSITION = (int, Field(description="Event-log position this snapshot reflects."))
WorkerSnapshot: type[BaseModel] = create_model(
    "WorkerSnapshot",
    __base__=WorkerView,
    __doc__="A full worker view (worker.snapshot frames); ignore it if older than yours.",
    __module__=__name__,
    position=_SNAPSHOT_POSITION,
)


class WorkerSnapshots(NotificationContract):
    """worker.snapshots: many workers' snapshots in one frame, for a stream opened with
    ?snapshots=batched (its initial state after hello / stream.resync)."""

    position: int = Field(description="Event-log position these snapshots reflect.")
    snapshots: list[WorkerSnapshot] = Field(
        description="Full worker views, each as a worker.snapshot frame's data."
    )


# ------------------------------------------------------------- minimal payloads


class WorkerNotificationPayload(NotificationContract):
    """Fields every minimal notification carries."""

    worker_id: str = Field(description="Worker id (UUID).")
    actor: str = Field(description="Who caused the change (user name, job or system).")
    at: str = Field(description="When the event was recorded, RFC 3339 UTC with Z.")
    version: int = Field(description="Aggregate version after the event.")


class _Identity(WorkerNotificationPayload):
    name: str = Field(description="Human name of the worker.")
    region: str = Field(description="AWS region.")
    instance_type: str = Field(description="EC2 instance type.")
    ami_id: str | None = Field(description="AMI the instance is launched from.")
    tags: dict[str, str] = Field(description="Tags (key to value).")
    idle_detection_enabled: bool = Field(description="Idle auto-pause on for this worker.")
    idle_timeout_minutes: int | None = Field(
        description="The worker's own idle timeout; null uses the global default."
    )
    status: str = Field(description="Initial worker status.")


class WorkerCreated(_Identity):
    """worker.created: a new worker was requested; no instance yet."""

    launch_template: str | None = Field(description="Launch template to use, if any.")


class WorkerImported(_Identity):
    """worker.imported: an existing EC2 instance was taken under management."""

    instance_id: str = Field(description="EC2 instance id.")


class WorkerInstanceAssigned(WorkerNotificationPayload):
    """worker.instance.assigned: the EC2 instance exists; the worker is provisioning."""

    instance_id: str = Field(description="EC2 instance id.")
    status: str = Field(description="Worker status after the event (provisioning).")


class WorkerStatusChanged(WorkerNotificationPayload):
    """worker.status.changed: EC2 reported the instance in a different state."""

    previous_status: str = Field(description="Status before.")
    status: str = Field(description="Status now.")


class WorkerServiceStatusChanged(WorkerNotificationPayload):
    """worker.service_status.changed: the CML API became reachable, ready or unreachable."""

    service_status: str = Field(description="unknown, reachable, ready or unreachable.")
    service_detail: str | None = Field(description="Why the service is in that status.")


class WorkerEndpointChanged(WorkerNotificationPayload):
    """worker.endpoint.changed: the instance's addresses changed."""

    public_ip: str | None = Field(description="Public IPv4 address.")
    private_ip: str | None = Field(description="Private IPv4 address.")
    public_dns: str | None = Field(description="Public DNS name.")


class WorkerMetricsRecorded(WorkerNotificationPayload):
    """worker.metrics.recorded: metrics changed materially (or the last went stale)."""

    changes: dict[str, float | int | str | bool | None] = Field(
        description="Raw telemetry fields that changed (e.g. cml_cpu_percent), new values. "
        "Derived view fields (cpu_percent, ...) arrive with the next worker.snapshot."
    )
    recorded_at: str = Field(description="When the metrics were observed, RFC 3339 UTC.")


class ActivityItem(NotificationContract):
    """One relevant CML activity."""

    at: str = Field(description="When it happened, RFC 3339 UTC.")
    kind: str = Field(description="What happened, e.g. lab_started or user_activity.")
    detail: str = Field(description="Free text: lab, node or user concerned.")


class WorkerActivityRecorded(WorkerNotificationPayload):
    """worker.activity.recorded: new relevant CML activity was seen."""

    last_activity_at: str = Field(description="Latest activity time, RFC 3339 UTC.")
    records: tuple[ActivityItem, ...] = Field(description="The new activities, oldest first.")


class WorkerIdleDetectionToggled(WorkerNotificationPayload):
    """worker.idle_detection.toggled: idle auto-pause switched on or off."""

    enabled: bool = Field(description="Whether idle auto-pause is now on.")
    timeout_minutes: int | None = Field(
        description="The worker's own idle timeout; null uses the global default."
    )


class WorkerIdleTimeoutChanged(WorkerNotificationPayload):
    """worker.idle_detection.timeout_changed: the worker's own idle timeout changed."""

    timeout_minutes: int | None = Field(
        description="The worker's own idle timeout; null uses the global default."
    )


class WorkerPaused(WorkerNotificationPayload):
    """worker.paused: the worker is paused (stopped to save money)."""

    reason: str = Field(description="manual, idle_timeout, external, schedule or budget.")
    paused_at: str = Field(description="When the pause happened, RFC 3339 UTC.")
    idle_minutes: float | None = Field(description="Idle minutes at an automatic pause.")
    status: str | None = Field(description=NULL_STATUS)


class WorkerResumed(WorkerNotificationPayload):
    """worker.resumed: a paused worker is started again (opens the snooze period)."""

    reason: str = Field(description="manual, idle_timeout, external, schedule or budget.")
    resumed_at: str = Field(description="When the resume happened, RFC 3339 UTC.")
    status: str | None = Field(description=NULL_STATUS)


class WorkerStatusRequested(WorkerNotificationPayload):
    """Base of the start/stop/terminate requests: the status the worker moves to."""

    status: str = Field(description="Worker status after the event.")


class WorkerStartRequested(WorkerStatusRequested):
    """worker.start.requested: an operator asked to start the worker (starting)."""


class WorkerStopRequested(WorkerStatusRequested):
    """worker.stop.requested: an operator asked to stop the worker (stopping)."""


class WorkerTerminateRequested(WorkerStatusRequested):
    """worker.terminate.requested: an admin asked to terminate it (terminating)."""


class WorkerTerminated(WorkerStatusRequested):
    """worker.terminated: the instance is gone. Final."""

    terminated_at: str = Field(description="When termination was recorded, RFC 3339 UTC.")
    reason: str | None = Field(
        None, description="How the end was found (e.g. EC2 no longer knows the instance)."
    )


class WorkerReleased(WorkerStatusRequested):
    """worker.released: an admin took the worker out of management (released). Final;
    its instance, if any, is left as it is."""

    reason: str = Field(description="Why, as the admin wrote it.")
    previous_status: str = Field(description="Worker status before the release.")


class WorkerOperationFailed(WorkerNotificationPayload):
    """worker.operation.failed: a requested cloud operation failed for good."""

    operation: str = Field(description="provision, start, stop, terminate, ...")
    reason: str = Field(description="Why it failed, as the cloud said (no secrets).")
    status: str | None = Field(description="Worker status after the event.")


class WorkerLicenseChanged(WorkerNotificationPayload):
    """Base of the license notifications: the license status after the event."""

    license_status: str = Field(description="CML license status after the event.")


class WorkerLicenseRegistrationStarted(WorkerLicenseChanged):
    """worker.license.registration.started: registration requested (registering)."""

    license_token_fingerprint: str = Field(
        description="Short fingerprint of the registration token (never the token)."
    )


class WorkerLicenseRegistrationCompleted(WorkerLicenseChanged):
    """worker.license.registration.completed: CML reports the license registered."""


class WorkerLicenseFailure(WorkerLicenseChanged):
    """Base of the license failure notifications."""

    reason: str = Field(description="Why it failed, as CML reported it.")


class WorkerLicenseRegistrationFailed(WorkerLicenseFailure):
    """worker.license.registration.failed: registration failed (failed)."""


class WorkerLicenseDeregistrationStarted(WorkerLicenseChanged):
    """worker.license.deregistration.started: deregistration requested (deregistering)."""


class WorkerLicenseDeregistrationCompleted(WorkerLicenseChanged):
    """worker.license.deregistration.completed: the license is released (unregistered)."""


class WorkerLicenseDeregistrationFailed(WorkerLicenseFailure):
    """worker.license.deregistration.failed: deregistration failed; status as left."""


class WorkerLicenseObserved(WorkerLicenseChanged):
    """worker.license.observed: CML reports another license status than recorded
    (expired, deregistered elsewhere, ...), outside any license operation of ours."""

    license_detail: str | None = Field(description="What CML said about it, if anything.")


class WorkerTagsChanged(WorkerNotificationPayload):
    """worker.tags.changed: tags added/changed and/or removed; others untouched."""

    added: dict[str, str] = Field(description="Tags added or changed (key to new value).")
    removed: tuple[str, ...] = Field(description="Keys of tags removed.")
    observed: bool = Field(
        False,
        description="True: changed in EC2 directly and seen there; false: asked for through "
        "cml-fleet, to be written to EC2 (worker.tags.applied follows).",
    )


class WorkerTagsApplied(WorkerNotificationPayload):
    """worker.tags.applied: the tag changes up to ``tags_version`` are written to EC2."""

    tags_version: int = Field(description="Worker version of the last tag change applied.")


class WorkerTeamChanged(WorkerNotificationPayload):
    """worker.team.changed: the worker moved to another team (by an admin, or seen in
    EC2's cml-fleet:team tag). Sent to those who see either team."""

    team: str | None = Field(description="The new team (null: none).")
    previous: str | None = Field(description="The team before (null: none).")


class WorkerScheduleOverridden(WorkerNotificationPayload):
    """worker.schedule.overridden: kept running until ``until`` whatever its schedule
    says (null: the override was lifted); it expires by itself."""

    until: str | None = Field(description="Until when (RFC 3339), or null: lifted.")


class WorkerNoticePosted(WorkerNotificationPayload):
    """worker.notice.posted: the worker's CML users were warned by a system notice that
    it goes down at ``down_at`` (an idle pause, or its schedule's stop or pause)."""

    action: str = Field(description="pause or stop.")
    down_at: str = Field(description="When it goes down (RFC 3339).")
    notice_id: str = Field(description="The notice's id on the worker's CML.")
    lead_minutes: int = Field(description="How many minutes before down_at they were warned.")


_OPERATION = Field(description="start, stop, wipe, delete or import.")
_REQUEST = Field(description="Worker version of the request this ends.")


class WorkerLabOperationRequested(WorkerNotificationPayload):
    """worker.lab.operation.requested: an operator asked for something to be done to a
    lab on the worker's CML; worker.lab.operation.done or .failed follows."""

    operation: str = _OPERATION
    lab_id: str | None = Field(description="The lab (null for an import: no lab yet).")
    title: str | None = Field(description="Import: the title asked for (null: the file's).")
    size: int | None = Field(description="Import: the topology's size in bytes.")
    digest: str | None = Field(description="Import: sha256 of the topology sent.")


class WorkerLabOperationDone(WorkerNotificationPayload):
    """worker.lab.operation.done: CML did it; lab_state is what CML reports after it."""

    operation: str = _OPERATION
    lab_id: str = Field(description="The lab (for an import: the new lab).")
    lab_state: str | None = Field(
        description="DEFINED_ON_CORE, STOPPED or STARTED; null when the lab was deleted."
    )
    request_version: int = _REQUEST


class WorkerLabOperationFailed(WorkerNotificationPayload):
    """worker.lab.operation.failed: it could not be done, and why."""

    operation: str = _OPERATION
    lab_id: str | None = Field(description="The lab (null for an import that made none).")
    reason: str = Field(description="Why, in words an operator reads.")
    request_version: int = _REQUEST


class LabChange(NotificationContract):
    """A lab that appeared or changed."""

    lab_id: str = Field(description="CML lab id.")
    title: str = Field(description="Lab title.")
    state: str = Field(description="DEFINED_ON_CORE, STOPPED or STARTED.")
    running_nodes: int | None = Field(description="Nodes running.")
    node_count: int = Field(description="Nodes in the lab.")


class WorkerLabsChanged(NotificationContract):
    """worker.labs.changed: the metrics job saw the worker's labs change on its CML.
    Not in the event log (CML is the truth of what runs on it): a resuming client that
    missed one refetches GET /api/workers/{id}/labs after the stream.resync frame."""

    worker_id: str = Field(description="Worker id (UUID).")
    at: str = Field(description="When the labs were seen, RFC 3339 UTC with Z.")
    added: tuple[LabChange, ...] = Field(description="Labs new on the worker.")
    changed: tuple[LabChange, ...] = Field(description="Labs whose facts changed.")
    removed: tuple[str, ...] = Field(description="Ids of labs no longer on the worker.")


# ------------------------------------------------------------ settings changes
# Not in the event log (application.changes): a client that was away refetches
# GET /api/schedules, /api/budgets or /api/webhooks once its stream is open again.

_BY = Field(description="Who made the change (the actor, as in worker histories).")
_AT = Field(description="When, RFC 3339 UTC with Z.")
_VIEW_NULL = "; null when removed, or too large to pass between processes (then GET it)."


class ScheduleChanged(NotificationContract):
    """schedule.changed: a schedule was saved (made or changed) or removed."""

    name: str = Field(description="The schedule's name.")
    change: Literal["saved", "removed"] = Field(description="What happened to it.")
    by: str = _BY
    at: str = _AT
    schedule: ScheduleView | None = Field(description="The schedule as GET gives it" + _VIEW_NULL)


class BudgetChanged(NotificationContract):
    """budget.changed: a budget was saved, removed, or its enforcement lifted this month.
    Under VISIBILITY=team, seen by its team (a team budget) and admins."""

    name: str = Field(description="The budget's name.")
    change: Literal["saved", "lifted", "removed"] = Field(description="What happened to it.")
    by: str = _BY
    at: str = _AT
    budget: BudgetView | None = Field(description="The budget as GET gives it" + _VIEW_NULL)


class BudgetThresholdReached(NotificationContract):
    """budget.threshold.reached: a budget's spend reached one of its thresholds (once a
    month each; the same alert goes to webhooks subscribed to ``budget``)."""

    budget: str = Field(description="The budget's name.")
    scope: str = Field(description="fleet, team:<team> or tag:<key>=<value>.")
    month: str = Field(description="The month (UTC), YYYY-MM.")
    threshold: int = Field(description="The percentage reached.")
    amount: float = Field(description="The budget's amount.")
    spend: float = Field(description="Spend this month when it was reached.")
    forecast: float = Field(description="The month's forecast then.")
    currency: str = Field(description="Currency of the amounts.")
    enforce: bool = Field(description="Whether the budget pauses workers at 100 %.")
    at: str = _AT


class WebhookChanged(NotificationContract):
    """webhook.changed: a webhook subscription was created or removed (admins' streams
    only)."""

    id: str = Field(description="The subscription's name.")
    change: Literal["created", "removed"] = Field(description="What happened to it.")
    by: str = _BY
    at: str = _AT
    webhook: WebhookView | None = Field(description="The subscription as GET gives it" + _VIEW_NULL)


SETTINGS_CONTRACTS: Mapping[str, type[BaseModel]] = {
    "schedule.changed": ScheduleChanged,
    "budget.changed": BudgetChanged,
    "budget.threshold.reached": BudgetThresholdReached,
    "webhook.changed": WebhookChanged,
}


PAYLOAD_CONTRACTS: Mapping[str, type[WorkerNotificationPayload]] = {
    "worker.created": WorkerCreated,
    "worker.imported": WorkerImported,
    "worker.instance.assigned": WorkerInstanceAssigned,
    "worker.status.changed": WorkerStatusChanged,
    "worker.service_status.changed": WorkerServiceStatusChanged,
    "worker.endpoint.changed": WorkerEndpointChanged,
    "worker.metrics.recorded": WorkerMetricsRecorded,
    "worker.activity.recorded": WorkerActivityRecorded,
    "worker.idle_detection.toggled": WorkerIdleDetectionToggled,
    "worker.idle_detection.timeout_changed": WorkerIdleTimeoutChanged,
    "worker.paused": WorkerPaused,
    "worker.resumed": WorkerResumed,
    "worker.start.requested": WorkerStartRequested,
    "worker.stop.requested": WorkerStopRequested,
    "worker.terminate.requested": WorkerTerminateRequested,
    "worker.terminated": WorkerTerminated,
    "worker.released": WorkerReleased,
    "worker.operation.failed": WorkerOperationFailed,
    "worker.license.registration.started": WorkerLicenseRegistrationStarted,
    "worker.license.registration.completed": WorkerLicenseRegistrationCompleted,
    "worker.license.registration.failed": WorkerLicenseRegistrationFailed,
    "worker.license.deregistration.started": WorkerLicenseDeregistrationStarted,
    "worker.license.deregistration.completed": WorkerLicenseDeregistrationCompleted,
    "worker.license.deregistration.failed": WorkerLicenseDeregistrationFailed,
    "worker.license.observed": WorkerLicenseObserved,
    "worker.tags.changed": WorkerTagsChanged,
    "worker.tags.applied": WorkerTagsApplied,
    "worker.team.changed": WorkerTeamChanged,
    "worker.schedule.overridden": WorkerScheduleOverridden,
    "worker.notice.posted": WorkerNoticePosted,
    "worker.lab.operation.requested": WorkerLabOperationRequested,
    "worker.lab.operation.done": WorkerLabOperationDone,
    "worker.lab.operation.failed": WorkerLabOperationFailed,
}

CONTROL_CONTRACTS: Mapping[str, type[BaseModel]] = {
    "hello": StreamHello,
    "stream.resync": StreamResync,
    "worker.snapshot": WorkerSnapshot,
    "worker.snapshots": WorkerSnapshots,
    "worker.labs.changed": WorkerLabsChanged,
}

DATA_CONTRACTS: Mapping[str, type[BaseModel]] = {
    **PAYLOAD_CONTRACTS,
    **CONTROL_CONTRACTS,
    **SETTINGS_CONTRACTS,
}
"""The model of ``data`` for every frame type."""

NOTIFICATION_CONTRACTS: tuple[type[BaseModel], ...] = (
    CloudEventEnvelope,
    *DATA_CONTRACTS.values(),
)
"""Every stream contract, for the JSON Schema export."""


def dataschema_of(frame_type: str) -> str:
    """The schema id of a frame type's ``data`` (CloudEvents ``dataschema``)."""
    return schema_id(DATA_CONTRACTS[frame_type].__name__)
