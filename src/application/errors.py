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
