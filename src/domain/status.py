"""Enumerations of the worker model. Values are the public spelling."""

from __future__ import annotations

from enum import Enum


class WorkerStatus(Enum):
    """Lifecycle of a worker's EC2 instance as cml-fleet sees it."""

    PENDING = "pending"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    RELEASED = "released"
    """No longer managed: an admin released it (its instance, if any, is left as it is)."""
    FAILED = "failed"
    UNKNOWN = "unknown"


class ServiceStatus(Enum):
    """Whether the CML REST API on the worker answers."""

    UNKNOWN = "unknown"
    REACHABLE = "reachable"
    READY = "ready"
    UNREACHABLE = "unreachable"


class LicenseStatus(Enum):
    """CML license registration state."""

    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    EVALUATION = "evaluation"
    EXPIRED = "expired"
    FAILED = "failed"
    DEREGISTERING = "deregistering"


class PauseReason(Enum):
    """Why a worker was paused or resumed."""

    MANUAL = "manual"
    IDLE_TIMEOUT = "idle_timeout"
    EXTERNAL = "external"
    SCHEDULE = "schedule"
    BUDGET = "budget"


LIVE_STATUSES = frozenset(
    {
        WorkerStatus.PENDING,
        WorkerStatus.PROVISIONING,
        WorkerStatus.RUNNING,
        WorkerStatus.STOPPING,
        WorkerStatus.STOPPED,
        WorkerStatus.STARTING,
        WorkerStatus.FAILED,
        WorkerStatus.UNKNOWN,
    }
)
"""Statuses from which a worker may still be terminated."""

FINAL_STATUSES = frozenset({WorkerStatus.TERMINATED, WorkerStatus.RELEASED})
"""Statuses a worker never leaves: nothing is observed, requested or carried out for it."""

LICENSE_IN_PROGRESS = frozenset({LicenseStatus.REGISTERING, LicenseStatus.DEREGISTERING})
"""A license operation of ours is under way: what CML reports is not recorded over it."""


def status_after_pause(reason: PauseReason) -> WorkerStatus | None:
    """The status a pause leaves (``None``: unchanged). An external pause records a
    stop that already happened; ours asks for one."""
    return None if reason is PauseReason.EXTERNAL else WorkerStatus.STOPPING


def status_after_resume(reason: PauseReason) -> WorkerStatus | None:
    """The status a resume leaves (``None``: unchanged), as :func:`status_after_pause`."""
    return None if reason is PauseReason.EXTERNAL else WorkerStatus.STARTING


UP_STATUSES = frozenset({WorkerStatus.STARTING, WorkerStatus.RUNNING})
"""Coming up into one of these (from another) restarts the worker's idle clock."""

PAUSE_COUNTERS: dict[PauseReason, str] = {
    PauseReason.IDLE_TIMEOUT: "auto_pause_count",
    PauseReason.MANUAL: "manual_pause_count",
    PauseReason.EXTERNAL: "external_pause_count",
    PauseReason.SCHEDULE: "scheduled_pause_count",
    PauseReason.BUDGET: "budget_pause_count",
}
"""Which of the worker's counters a pause for each reason adds one to."""

PAUSE_HISTORY_LIMIT = 20
"""How many pauses a worker remembers (newest last)."""
RECENT_ACTIVITY_LIMIT = 10
"""How many CML activity records a worker remembers (newest last)."""
