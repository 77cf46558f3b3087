"""Before a worker is recorded: its region exists, and an imported instance is real,
not managed by another worker, and what the request says of it is what EC2 says.

Importing takes the instance as EC2 describes it (type, AMI, Name tag, state, tags).
The request may leave those out; what it gives must agree with EC2, or the import is
refused naming the field (decision record 0006). Its tags are added to EC2's, and
written to EC2 like any tag change. The HTTP import and discovery share this path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid5

from application.cloud import CloudPort, InstanceInfo
from application.commands.common import Caused
from application.commands.lifecycle import ImportWorker, import_command
from application.dto import CMLWorkerDto
from application.errors import (
    CloudUnavailable,
    ImportMismatch,
    InstanceAlreadyManaged,
    InstanceNotFound,
    UnknownRegion,
)
from application.ports_errors import CloudError, failure_kind
from domain.status import FINAL_STATUSES

NAMESPACE = UUID("5d1f8f2e-9a53-4c1e-9e0b-6f1d2c3b4a59")
GONE_STATES = frozenset({"shutting-down", "terminated"})
_FINAL = frozenset(s.value for s in FINAL_STATUSES)


def managed_worker_id(region: str, instance_id: str, generation: int = 0) -> UUID:
    """The id of the worker that manages an instance for the ``generation``-th time
    (0: first; one more after each worker of it ended). Two imports racing for one
    instance compute the same id, so the second save is refused as a duplicate."""
    suffix = f"#{generation}" if generation else ""
    return uuid5(NAMESPACE, f"{region}/{instance_id}{suffix}")


@dataclass(frozen=True)
class ImportRequest(Caused):
    """What an operator asks to import; unset fields are taken from EC2."""

    instance_id: str
    region: str
    actor: str
    correlation_id: str
    name: str | None = None
    instance_type: str | None = None
    ami_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    idle_detection_enabled: bool = True
    idle_timeout_minutes: int | None = None


async def check_region(cloud: CloudPort, region: str) -> None:
    if region not in await cloud.known_regions():
        raise UnknownRegion(region)


async def look_up(cloud: CloudPort, region: str, instance_id: str) -> InstanceInfo:
    """The instance as EC2 describes it now; refused if it is not there (any more)."""
    await check_region(cloud, region)
    try:
        found = await cloud.describe_instances(region, [instance_id])
    except CloudError as error:
        raise CloudUnavailable(region, failure_kind(error)) from None
    info = next((i for i in found if i.instance_id == instance_id), None)
    if info is None or info.state in GONE_STATES:
        raise InstanceNotFound(instance_id, region, info.state if info else None)
    return info


def admit(
    request: ImportRequest, info: InstanceInfo, known: Sequence[CMLWorkerDto]
) -> ImportWorker:
    """The import command for ``info``, or the reason it is refused. ``known``: every
    worker the read model has, ended ones included."""
    _refuse_mismatch("instance_type", request.instance_type, info.instance_type)
    _refuse_mismatch("ami_id", request.ami_id, info.ami_id)
    same = [w for w in known if (w.region, w.instance_id) == (info.region, info.instance_id)]
    live = [w for w in same if w.status not in _FINAL]
    if live:
        raise InstanceAlreadyManaged(info.instance_id, live[0].id)
    return import_command(
        info,
        cause=request.cause,
        worker_id=managed_worker_id(info.region, info.instance_id, len(same)),
        name=request.name or info.name or info.instance_id,
        add_tags=dict(request.tags),
        idle_detection_enabled=request.idle_detection_enabled,
        idle_timeout_minutes=request.idle_timeout_minutes,
    )


def _refuse_mismatch(name: str, requested: str | None, actual: str | None) -> None:
    if requested is not None and requested != actual:
        raise ImportMismatch(name, requested, actual)
