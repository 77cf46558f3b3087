"""Which stored events request an operation, and the operation they request (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from domain.labs import LabImport, LabOperation
from domain.status import PauseReason
from domain.worker import CMLWorker

W = CMLWorker
INSTANCE_TAG = "cml-fleet:worker-id"
"""Tag put on every instance launched for a worker: its id. Checked before launching."""


class OperationKind(Enum):
    """What the cloud or CML must do; the value names it in failure events."""

    PROVISION = "provision"
    START = "start"
    STOP = "stop"
    TERMINATE = "terminate"
    REGISTER_LICENSE = "license registration"
    DEREGISTER_LICENSE = "license deregistration"
    TAGS = "tags"
    LAB = "lab"


@dataclass(frozen=True)
class Operation:
    """A requested operation: the event that asked for it, where it is in the log."""

    kind: OperationKind
    worker_id: UUID
    position: int
    version: int
    """The worker's version after the requesting event."""
    correlation_id: str
    actor: str
    tags: TagPatch | None = None
    """For ``TAGS``: the change to write."""
    lab: LabOperation | None = None
    """For ``LAB``: what to do to which lab."""
    lab_import: LabImport | None = None
    """For a lab import: the topology's digest and the title asked for."""


@dataclass(frozen=True)
class TagPatch:
    """Tags to set (key to value) and keys to remove, as one tag change asked for."""

    added: Mapping[str, str]
    removed: tuple[str, ...]


_BY_EVENT: dict[type[CMLWorker.Event], OperationKind] = {
    W.Created: OperationKind.PROVISION,
    W.StartRequested: OperationKind.START,
    W.Resumed: OperationKind.START,
    W.StopRequested: OperationKind.STOP,
    W.Paused: OperationKind.STOP,
    W.TerminateRequested: OperationKind.TERMINATE,
    W.LicenseRegistrationStarted: OperationKind.REGISTER_LICENSE,
    W.LicenseDeregistrationStarted: OperationKind.DEREGISTER_LICENSE,
    W.TagsChanged: OperationKind.TAGS,
    W.LabOperationRequested: OperationKind.LAB,
}

REQUEST_TOPICS: frozenset[str] = frozenset(str(cls.__dict__["TOPIC"]) for cls in _BY_EVENT)
"""Topics of the events that may request an operation: the rest need no decoding."""


def operation_for(event: object, position: int) -> Operation | None:
    """The operation ``event`` requests, if any. An ``external`` pause or resume, and
    a tag change not ``to_ec2`` (seen there), record what already happened."""
    kind = _BY_EVENT.get(type(event)) if isinstance(event, CMLWorker.Event) else None
    if kind is None:
        return None
    assert isinstance(event, CMLWorker.Event)
    if isinstance(event, W.Paused | W.Resumed) and event.reason is PauseReason.EXTERNAL:
        return None
    if isinstance(event, W.TagsChanged) and not event.to_ec2:
        return None  # seen in EC2, or stored before tag changes were written there
    patch = None
    if isinstance(event, W.TagsChanged):
        patch = TagPatch(dict(event.added), tuple(event.removed))
    lab, lab_import = None, None
    if isinstance(event, W.LabOperationRequested):
        lab = LabOperation(event.operation, event.lab_id)
        if event.digest is not None:
            lab_import = LabImport(event.size or 0, event.digest, event.title)
    return Operation(
        kind=kind,
        tags=patch,
        lab=lab,
        lab_import=lab_import,
        worker_id=event.originator_id,
        position=position,
        version=event.originator_version,
        correlation_id=event.correlation_id,
        actor=event.actor,
    )


def client_token(worker_id: UUID, version: int) -> str:
    """The EC2 ``ClientToken`` of a worker's launch: the same on every retry and after
    a restart, so EC2 launches at most one instance for it (at most 64 characters)."""
    return f"cml-fleet-{worker_id.hex}-{version}"
