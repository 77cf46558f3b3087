"""Immutable value objects held in the CMLWorker's state."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

PERCENT_FIELDS = frozenset(
    {
        "cw_cpu_percent",
        "cw_memory_percent",
        "cml_cpu_percent",
        "cml_memory_percent",
        "cml_disk_percent",
    }
)


@dataclass(frozen=True)
class Telemetry:
    """What the last material metrics recording saw on a worker.

    ``None`` means "not known" (never observed, or the source had no value).
    """

    ec2_system_status: str | None = None
    ec2_instance_status: str | None = None
    cw_cpu_percent: float | None = None
    cw_memory_percent: float | None = None
    cml_cpu_percent: float | None = None
    cml_memory_percent: float | None = None
    cml_disk_percent: float | None = None
    cml_version: str | None = None
    cml_ready: bool | None = None
    cml_healthy: bool | None = None
    labs_count: int | None = None
    running_labs_count: int | None = None
    running_nodes_count: int | None = None

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    def differences(self, other: Telemetry) -> dict[str, Any]:
        """Fields whose value in ``other`` differs from this one, with other's values."""
        return {
            name: getattr(other, name)
            for name in self.field_names()
            if getattr(self, name) != getattr(other, name)
        }

    def updated(self, changes: dict[str, Any]) -> Telemetry:
        return replace(self, **changes)


@dataclass(frozen=True)
class MetricThresholds:
    """When a metrics observation is worth an event.

    A percentage must move by at least ``percent_points``; any other field records
    on any change; with no material change a recording is still made once the last
    one is older than ``max_staleness_seconds``.
    """

    percent_points: float = 5.0
    max_staleness_seconds: float = 20 * 60


@dataclass(frozen=True)
class PauseRecord:
    """One pause of a worker, and its resume once it happened."""

    paused_at: datetime
    reason: str
    actor: str
    idle_minutes: float | None = None
    resumed_at: datetime | None = None
    resume_reason: str | None = None
    resumed_by: str | None = None


@dataclass(frozen=True)
class ActivityRecord:
    """A recent relevant CML activity (lab started, user active, ...)."""

    at: datetime
    kind: str
    detail: str = ""
