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
