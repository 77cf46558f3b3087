"""Lab commands: an operator's request (recorded, then carried out by the operations
engine) and the engine's outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import WorkerStore
from domain.labs import LabImport, LabOperation
from domain.worker import CMLWorker


@dataclass(frozen=True)
class RequestLabOperation(WorkerCommand):
    """Start, stop, wipe or delete a lab, or import one (``import_of`` then says what)."""

    operation: LabOperation
    import_of: LabImport | None = None


@dataclass(frozen=True)
class CompleteLabOperation(WorkerCommand):
    request_version: int
    operation: LabOperation
    lab_state: str | None
    """The lab's state after it (``None``: deleted)."""


@dataclass(frozen=True)
class FailLabOperation(WorkerCommand):
    request_version: int
    operation: LabOperation
    reason: str


def request_lab_operation(cmd: RequestLabOperation, store: WorkerStore) -> CommandResult:
    return change(
        store,
        cmd,
        lambda w: w.request_lab_operation(cmd.operation, cause=cmd.cause, import_of=cmd.import_of),
    )


def complete_lab_operation(cmd: CompleteLabOperation, store: WorkerStore) -> CommandResult:
    def end(w: CMLWorker) -> bool:
        return w.complete_lab_operation(
            cmd.request_version, cmd.operation, cmd.lab_state, cause=cmd.cause
        )

    return change(store, cmd, end)


def fail_lab_operation(cmd: FailLabOperation, store: WorkerStore) -> CommandResult:
    def end(w: CMLWorker) -> bool:
        return w.fail_lab_operation(cmd.request_version, cmd.operation, cmd.reason, cause=cmd.cause)

    return change(store, cmd, end)
