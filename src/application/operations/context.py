"""What every operation flow needs: ports, the store, time, waits, and the outcome type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any, Protocol, TypeVar
from uuid import UUID

from application.cloud import CloudPort
from application.cml import CmlPort
from application.commands.common import CommandResult
from application.commands.group_commit import GroupCommit
from application.labs import LabStore
from application.operations.retry import Random, RetryPolicy, Sleep, retrying
from application.ports import Clock, RunSync, WorkerStore
from domain.worker import CMLWorker

T = TypeVar("T")


class SecretSource(Protocol):
    """Where the license token of a registration request waits, in memory only."""

    def take(self, worker_id: UUID, correlation_id: str) -> str | None:
        """The token, once: it is wiped as it is handed out. ``None`` if absent."""
        ...


@dataclass(frozen=True)
class OperationsConfig:
    """The engine's knobs (built from settings by the composition root)."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval: float = 2.0
    """First wait between two ``GET /licensing`` polls, in seconds; grows by half."""
    poll_max_interval: float = 15.0
    license_timeout: timedelta = timedelta(minutes=5)
    """How long a registration may stay in progress before it counts as failed."""
    max_polls: int = 200
    actor: str = "operations"


class Result(Enum):
    SKIPPED = "skipped"
    """Nothing to do: superseded by a later request, or the effect is already there."""
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """How an operation ended, for logs and tests (the events say it to everyone)."""

    result: Result
    detail: str = ""


def skipped(detail: str) -> Outcome:
    return Outcome(Result.SKIPPED, detail)


def done(detail: str) -> Outcome:
    return Outcome(Result.DONE, detail)


def failed(detail: str) -> Outcome:
    return Outcome(Result.FAILED, detail)


@dataclass
class OperationContext:
    store: WorkerStore
    cloud: CloudPort
    cml: CmlPort
    run_sync: RunSync
    clock: Clock
    secrets: SecretSource
    config: OperationsConfig
    sleep: Sleep
    random: Random
    labs: LabStore | None = None
    """Where lab rows are refreshed after an operation and imports wait (the engine
    works without it, leaving the rows to the metrics job, and refuses imports)."""
    commits: GroupCommit | None = None
    """Where outcomes are recorded together with other recordings (one transaction for
    many workers); without it each outcome is saved on its own."""

    async def load(self, worker_id: UUID) -> CMLWorker:
        """The worker's current state, read from the store (off the event loop)."""
        return await self.run_sync(self.store.get, worker_id)

    async def record(self, handler: Callable[..., CommandResult], command: Any) -> CommandResult:
        """Record an outcome through its command handler (``command.worker_id``'s)."""
        if self.commits is None:
            return await self.run_sync(handler, command, self.store)

        def recording(store: WorkerStore) -> list[CommandResult]:
            return [handler(command, store)]

        results = await self.commits.record(command.worker_id, recording)
        return results[0]

    async def retrying(self, attempt: Callable[[int], Any]) -> Any:
        return await retrying(attempt, self.config.retry, self.sleep, self.random)
