"""Application errors, each mapped to one HTTP status at the edge."""

from __future__ import annotations

from uuid import UUID


class ApplicationError(Exception):
    """Base class of errors a use case reports to its caller."""


class WorkerNotFound(ApplicationError):
    def __init__(self, worker_id: UUID | str) -> None:
        self.worker_id = str(worker_id)
        super().__init__(f"no worker with id {worker_id}")


class ConcurrencyConflict(ApplicationError):
    """The worker kept changing under the command; retrying later may succeed."""

    def __init__(self, worker_id: UUID | str, attempts: int) -> None:
        self.worker_id = str(worker_id)
        self.attempts = attempts
        super().__init__(
            f"worker {worker_id} changed concurrently {attempts} times; retry the command"
        )


class ReadModelBehind(ApplicationError):
    """The read model did not reach the requested position in time."""

    def __init__(self, wanted: int, reached: int) -> None:
        self.wanted = wanted
        self.reached = reached
        super().__init__(f"read model at position {reached}, not yet {wanted}")


class PositionNotInLog(ApplicationError):
    """``?min_position`` names a position the event log has not reached: nothing this
    fleet acknowledged, so waiting would not help (409)."""

    def __init__(self, wanted: int, head: int) -> None:
        self.wanted, self.head = wanted, head
        super().__init__(f"position {wanted} is not in the event log (it ends at {head})")


class UnknownRegion(ApplicationError):
    """The region is not one the cloud has (422)."""

    def __init__(self, region: str) -> None:
        self.region = region
        super().__init__(f"region {region!r} is not a region EC2 has")


class InstanceNotFound(ApplicationError):
    """The instance to import does not exist in that region, or is gone (404)."""

    def __init__(self, instance_id: str, region: str, state: str | None = None) -> None:
        self.instance_id, self.region = instance_id, region
        where = f"is {state} in {region}" if state else f"does not exist in {region}"
        super().__init__(f"instance {instance_id} {where}: nothing to import")


class InstanceAlreadyManaged(ApplicationError):
    """Another worker manages the instance already (409)."""

    def __init__(self, instance_id: str, worker_id: str) -> None:
        self.instance_id, self.worker_id = instance_id, worker_id
        super().__init__(f"instance {instance_id} is already managed by worker {worker_id}")


class ImportMismatch(ApplicationError):
    """The request says something of the instance that EC2 contradicts (409)."""

    def __init__(self, field: str, requested: str, actual: str | None) -> None:
        self.field, self.requested, self.actual = field, requested, actual
        super().__init__(f"EC2 says {actual or 'nothing'}, the request says {requested}")


class CloudUnavailable(ApplicationError):
    """The cloud did not answer a question the command needs answered (503)."""

    def __init__(self, region: str, kind: str) -> None:
        self.region, self.kind = region, kind
        super().__init__(f"EC2 in {region} did not answer ({kind}); try again later")
