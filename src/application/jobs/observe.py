"""Pure rules of the metrics job: what an observation means for a worker."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from application.cloud import CloudMetrics, StatusCheck
from application.cml import CmlTelemetryEvent
from application.jobs.probe import CmlProbe
from domain.policies import observed_status
from domain.status import FINAL_STATUSES, ServiceStatus, WorkerStatus
from domain.values import ActivityRecord, Telemetry

S = WorkerStatus
IN_FLIGHT = {
    S.STOPPING: {S.RUNNING},  # a requested stop that EC2 has not started yet
    S.STARTING: {S.STOPPED},
    S.TERMINATING: {S.RUNNING, S.STOPPED, S.STOPPING, S.STARTING, S.PROVISIONING},
}
ACTIVITY_CATEGORIES = frozenset(
    {
        "start_lab",
        "stop_lab",
        "queue_node",
        "start_node",
        "stop_node",
        "boot_node",
        "wipe_node",
        "import_lab",
        "export_lab",
        "user_activity",
    }
)
USER_KEYS = ("user_name", "username", "user")


def status_to_record(current: WorkerStatus, ec2_state: str | None) -> WorkerStatus | None:
    """The status to record after EC2 reported ``ec2_state`` (``None``: the instance is
    gone from EC2), or ``None`` when there is nothing to record.

    A requested operation EC2 has not begun yet is not undone by the observation.
    """
    if current is S.PENDING or current in FINAL_STATUSES:
        return None
    if ec2_state is None:
        # A new instance may take a moment to appear; any other one is gone for good.
        return None if current is S.PROVISIONING else S.TERMINATED
    status = observed_status(current, ec2_state)
    if status is current or status in IN_FLIGHT.get(current, set()):
        return None
    return status


def why_ended(instance_id: str | None, region: str, ec2_state: str | None) -> str:
    """Why a worker is recorded as terminated after EC2 reported ``ec2_state``."""
    if ec2_state is None:
        return f"EC2 no longer knows instance {instance_id} in {region}"
    return f"EC2 reports instance {instance_id} {ec2_state}"


def host_of(public_dns: str | None, public_ip: str | None, private_ip: str | None) -> str | None:
    """Where to reach the worker's CML API."""
    return public_dns or public_ip or private_ip


def service_status_of(
    ec2_state: str | None, probe: CmlProbe | None, failure: str | None
) -> tuple[ServiceStatus, str | None]:
    if ec2_state != "running":
        return ServiceStatus.UNKNOWN, f"instance {ec2_state or 'gone'}"
    if failure is not None:
        return ServiceStatus.UNREACHABLE, failure
    if probe is not None and probe.info.ready:
        if probe.invalid:  # stable words: the fields, not the values
            return (
                ServiceStatus.READY,
                f"CML reported impossible values: {', '.join(probe.invalid)}",
            )
        return ServiceStatus.READY, None
    return ServiceStatus.REACHABLE, "CML is starting: no compute ready yet"


STOPPED_OVERLAY: dict[str, Any] = {
    "ec2_system_status": None,
    "ec2_instance_status": None,
    "cw_cpu_percent": None,
    "cw_memory_percent": None,
    "cml_cpu_percent": None,
    "cml_memory_percent": None,
    "cml_ready": False,
    "running_labs_count": 0,
    "running_nodes_count": 0,
}
CML_DOWN_OVERLAY: dict[str, Any] = {
    "cml_cpu_percent": None,
    "cml_memory_percent": None,
    "cml_ready": False,
}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def observed_telemetry(
    base: Telemetry,
    *,
    running: bool | None,
    checks: dict[str, StatusCheck] | None,
    cloud: dict[str, CloudMetrics] | None,
    instance_id: str,
    probe: CmlProbe | None,
    cml_failed: bool,
) -> Telemetry:
    """``base`` updated with what was seen; a source that could not be asked keeps
    its last values (a failed call is not an absent value)."""
    if running is False:
        return base.updated(STOPPED_OVERLAY)
    changes: dict[str, Any] = {}
    if checks is not None:
        check = checks.get(instance_id)
        changes["ec2_system_status"] = check.system_status if check else None
        changes["ec2_instance_status"] = check.instance_status if check else None
    if cloud is not None:
        sample = cloud.get(instance_id)
        changes["cw_cpu_percent"] = _pct(sample.cpu_percent) if sample else None
        changes["cw_memory_percent"] = _pct(sample.memory_percent) if sample else None
    if cml_failed:
        changes.update(CML_DOWN_OVERLAY)
    if probe is not None:
        changes.update(_from_probe(probe))
    return base.updated(changes)


def _from_probe(probe: CmlProbe) -> dict[str, Any]:
    return {
        "cml_cpu_percent": _pct(probe.stats.cpu_percent),
        "cml_memory_percent": _pct(probe.stats.memory_percent),
        "cml_disk_percent": _pct(probe.stats.disk_percent),
        "cml_version": probe.info.version,
        "cml_ready": probe.info.ready,
        "cml_healthy": probe.health.valid,
        "labs_count": len(probe.labs),
        "running_labs_count": probe.running_labs,
        "running_nodes_count": probe.running_nodes,
    }


def relevant_activity(
    probe: CmlProbe, after: datetime | None, service_account: re.Pattern[str]
) -> tuple[ActivityRecord, ...]:
    """Telemetry events newer than ``after`` that show people using CML: lab and node
    operations, and user activity by anyone but our own service account."""
    return activity_in(probe.events, after, service_account)


def activity_in(
    events: Sequence[CmlTelemetryEvent], after: datetime | None, service_account: re.Pattern[str]
) -> tuple[ActivityRecord, ...]:
    """:func:`relevant_activity` of any sequence of telemetry events."""
    return tuple(
        ActivityRecord(at=e.timestamp, kind=e.category, detail=_detail(e.data))
        for e in events
        if (after is None or e.timestamp > after)
        and e.category in ACTIVITY_CATEGORIES
        and not (e.category == "user_activity" and service_account.search(_user(e.data)))
    )


def _user(data: Any) -> str:
    return next((str(data[k]) for k in USER_KEYS if data.get(k)), "")


def _detail(data: Any) -> str:
    return _user(data) or str(data.get("lab_id", ""))


def latest(times: Sequence[datetime], default: datetime | None) -> datetime | None:
    return max([*times, *([default] if default is not None else [])], default=None)
