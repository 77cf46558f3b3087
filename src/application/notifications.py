"""The notification catalogue: each CMLWorker event -> one minimal public notification.

One pure table (:data:`CATALOGUE`). A notification carries what changed, plus
``worker_id``, ``actor``, ``at`` (when it was recorded) and ``version`` (the aggregate
version after the event), so a client can apply it to its copy of the worker at
once and ignore anything older. Datetimes are RFC 3339 UTC with ``Z``, enums their
values; nothing secret is ever copied (a license token exists only as the
fingerprint the event already holds). Field names follow ``CMLWorkerDto`` where
the DTO has the same fact.

The SSE stream, the replay from the durable log and the worker history all go
through :func:`to_notification`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from application.mapper import rfc3339
from domain.status import (
    LicenseStatus,
    WorkerStatus,
)
from domain.worker import CMLWorker

W = CMLWorker
Payload = dict[str, Any]


@dataclass(frozen=True)
class WorkerNotification:
    """A minimal public notification derived from one stored worker event."""

    type: str
    worker_id: str
    version: int
    at: str
    actor: str
    correlation_id: str
    payload: Mapping[str, Any]


class UnknownEvent(LookupError):
    """The event has no entry in the catalogue (a test keeps this from happening)."""


def _status(status: WorkerStatus | None) -> Payload:
    return {"status": None if status is None else status.value}


def _license(status: LicenseStatus) -> Payload:
    return {"license_status": status.value}


def _created(e: W.Created) -> Payload:
    return _new(e, launch_template=e.launch_template)


def _imported(e: W.Imported) -> Payload:
    return _new(e, instance_id=e.instance_id)


def _new(e: W.Created | W.Imported, **how: object) -> Payload:
    """A new worker: what it is, how it came (``how``), and its status."""
    return {
        "name": e.name,
        "region": e.region,
        "instance_type": e.instance_type,
        "ami_id": e.ami_id,
        **how,
        "tags": dict(sorted(e.tags.items())),
        "idle_detection_enabled": e.idle_detection_enabled,
        "idle_timeout_minutes": e.idle_timeout_minutes,
        **_status(e.status_after()),
    }


def _paused(e: W.Paused) -> Payload:
    after = e.status_after()  # the aggregate's own rule
    return {
        "reason": e.reason.value,
        "paused_at": rfc3339(e.at),
        "idle_minutes": e.idle_minutes,
        **_status(after),
    }


def _resumed(e: W.Resumed) -> Payload:
    after = e.status_after()
    return {"reason": e.reason.value, "resumed_at": rfc3339(e.at), **_status(after)}


def _activity(e: W.ActivityRecorded) -> Payload:
    records = [{"at": rfc3339(r.at), "kind": r.kind, "detail": r.detail} for r in e.records]
    return {"last_activity_at": rfc3339(e.last_activity_at), "records": records}


def _terminated(e: W.Terminated) -> Payload:
    return {
        **_status(e.status_after()),
        "terminated_at": rfc3339(e.timestamp),
        "reason": e.reason,
    }


Entry = tuple[str, Callable[[Any], Payload]]

CATALOGUE: Mapping[type[CMLWorker.Event], Entry] = {
    W.Created: ("worker.created", _created),
    W.Imported: ("worker.imported", _imported),
    W.InstanceAssigned: (
        "worker.instance.assigned",
        lambda e: {"instance_id": e.instance_id, **_status(e.status_after())},
    ),
    W.StatusChanged: (
        "worker.status.changed",
        lambda e: {"previous_status": e.previous.value, **_status(e.status_after())},
    ),
    W.ServiceStatusChanged: (
        "worker.service_status.changed",
        lambda e: {"service_status": e.service_status.value, "service_detail": e.detail},
    ),
    W.EndpointChanged: (
        "worker.endpoint.changed",
        lambda e: {
            "public_ip": e.public_ip,
            "private_ip": e.private_ip,
            "public_dns": e.public_dns,
        },
    ),
    W.MetricsRecorded: (
        "worker.metrics.recorded",
        lambda e: {"changes": dict(sorted(e.changes.items())), "recorded_at": rfc3339(e.at)},
    ),
    W.ActivityRecorded: ("worker.activity.recorded", _activity),
    W.IdleDetectionToggled: (
        "worker.idle_detection.toggled",
        lambda e: {"enabled": e.enabled, "timeout_minutes": e.timeout_minutes},
    ),
    W.IdleTimeoutChanged: (
        "worker.idle_detection.timeout_changed",
        lambda e: {"timeout_minutes": e.timeout_minutes},
    ),
    W.Paused: ("worker.paused", _paused),
    W.Resumed: ("worker.resumed", _resumed),
    W.StartRequested: ("worker.start.requested", lambda e: _status(e.status_after())),
    W.StopRequested: ("worker.stop.requested", lambda e: _status(e.status_after())),
    W.TerminateRequested: (
        "worker.terminate.requested",
        lambda e: _status(e.status_after()),
    ),
    W.Terminated: ("worker.terminated", _terminated),
    W.Released: (
        "worker.released",
        lambda e: {
            "reason": e.reason,
            "previous_status": e.previous.value,
            **_status(e.status_after()),
        },
    ),
    W.OperationFailed: (
        "worker.operation.failed",
        lambda e: {"operation": e.operation, "reason": e.reason, **_status(e.status_after())},
    ),
    W.LicenseRegistrationStarted: (
        "worker.license.registration.started",
        lambda e: {
            **_license(LicenseStatus.REGISTERING),
            "license_token_fingerprint": e.token_fingerprint,
        },
    ),
    W.LicenseRegistrationCompleted: (
        "worker.license.registration.completed",
        lambda e: _license(e.license_status),
    ),
    W.LicenseRegistrationFailed: (
        "worker.license.registration.failed",
        lambda e: {**_license(LicenseStatus.FAILED), "reason": e.reason},
    ),
    W.LicenseDeregistrationStarted: (
        "worker.license.deregistration.started",
        lambda e: _license(LicenseStatus.DEREGISTERING),
    ),
    W.LicenseDeregistrationCompleted: (
        "worker.license.deregistration.completed",
        lambda e: _license(LicenseStatus.UNREGISTERED),
    ),
    W.LicenseDeregistrationFailed: (
        "worker.license.deregistration.failed",
        lambda e: {**_license(e.license_status), "reason": e.reason},
    ),
    W.LicenseStatusObserved: (
        "worker.license.observed",
        lambda e: {**_license(e.license_status), "license_detail": e.detail},
    ),
    W.TagsChanged: (
        "worker.tags.changed",
        lambda e: {
            "added": dict(sorted(e.added.items())),
            "removed": list(e.removed),
            "observed": e.observed,
        },
    ),
    W.TagsApplied: ("worker.tags.applied", lambda e: {"tags_version": e.version}),
    W.TeamChanged: ("worker.team.changed", lambda e: {"team": e.team, "previous": e.previous}),
    W.ScheduleOverridden: (
        "worker.schedule.overridden",
        lambda e: {"until": rfc3339(e.until)},
    ),
    W.NoticePosted: (
        "worker.notice.posted",
        lambda e: {
            "action": e.action,
            "down_at": rfc3339(e.down_at),
            "notice_id": e.notice_id,
            "lead_minutes": e.lead_minutes,
        },
    ),
    W.LabOperationRequested: (
        "worker.lab.operation.requested",
        lambda e: {
            "operation": e.operation,
            "lab_id": e.lab_id,
            "title": e.title,
            "size": e.size,
            "digest": e.digest,
        },
    ),
    W.LabOperationDone: (
        "worker.lab.operation.done",
        lambda e: {
            "operation": e.operation,
            "lab_id": e.lab_id,
            "lab_state": e.lab_state,
            "request_version": e.request_version,
        },
    ),
    W.LabOperationFailed: (
        "worker.lab.operation.failed",
        lambda e: {
            "operation": e.operation,
            "lab_id": e.lab_id,
            "reason": e.reason,
            "request_version": e.request_version,
        },
    ),
}

NOTIFICATION_TYPES: tuple[str, ...] = tuple(entry[0] for entry in CATALOGUE.values())


def to_notification(event: object) -> WorkerNotification:
    """The minimal notification for a stored CMLWorker event (pure)."""
    entry = CATALOGUE.get(type(event)) if isinstance(event, CMLWorker.Event) else None
    if entry is None:
        raise UnknownEvent(type(event).__qualname__)
    assert isinstance(event, CMLWorker.Event)
    kind, payload_of = entry
    worker_id = str(event.originator_id)
    at = rfc3339(event.timestamp)
    assert at is not None
    common = {
        "worker_id": worker_id,
        "actor": event.actor,
        "at": at,
        "version": event.originator_version,
    }
    return WorkerNotification(
        type=kind,
        worker_id=worker_id,
        version=event.originator_version,
        at=at,
        actor=event.actor,
        correlation_id=event.correlation_id,
        payload={**common, **payload_of(event)},
    )
