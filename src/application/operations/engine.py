"""The engine: one entry point per requested operation, dispatched by kind."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from application.commands.labs import FailLabOperation, fail_lab_operation
from application.commands.outcomes import (
    FailLicenseDeregistration,
    FailLicenseRegistration,
    FailTagChange,
    RecordOperationFailure,
    fail_license_deregistration,
    fail_license_registration,
    fail_tag_change,
    record_operation_failure,
)
from application.errors import ApplicationError
from application.operations.context import OperationContext, Outcome
from application.operations.labs import act_on_lab
from application.operations.licensing import deregister, register
from application.operations.power import INTENT, change_power
from application.operations.provision import provision
from application.operations.requests import Operation, OperationKind
from application.operations.tags import write_tags
from domain.errors import DomainError
from domain.status import LicenseStatus, WorkerStatus
from domain.worker import CMLWorker

K = OperationKind
Flow = Callable[[OperationContext, Operation], Awaitable[Outcome]]
FLOWS: dict[OperationKind, Flow] = {
    K.PROVISION: provision,
    K.START: change_power,
    K.STOP: change_power,
    K.TERMINATE: change_power,
    K.REGISTER_LICENSE: register,
    K.DEREGISTER_LICENSE: deregister,
    K.TAGS: write_tags,
    K.LAB: act_on_lab,
}


class OperationEngine:
    """Carries out one operation at a time per call; safe to call concurrently for
    different workers (the reactor keeps one worker's operations in order)."""

    def __init__(self, context: OperationContext) -> None:
        self.context = context

    async def carry_out(self, op: Operation) -> Outcome:
        """Check, act, record. Idempotent: a second run finds the effect and skips."""
        return await FLOWS[op.kind](self.context, op)

    async def give_up(self, op: Operation, reason: str) -> None:
        """Record that ``op`` failed for a reason of our own (a bug, a dead store),
        if it is still the worker's request in progress."""
        worker = await self.context.load(op.worker_id)
        with contextlib.suppress(DomainError, ApplicationError):  # moved on meanwhile
            await self._record_failure(op, worker, reason)

    async def _record_failure(self, op: Operation, worker: CMLWorker, reason: str) -> None:
        ctx = self.context
        who = (op.worker_id, ctx.config.actor, op.correlation_id)
        before = worker.license_status_before_request or LicenseStatus.FAILED
        if op.kind is K.REGISTER_LICENSE and worker.license_status is LicenseStatus.REGISTERING:
            await ctx.record(fail_license_registration, FailLicenseRegistration(*who, reason))
        elif (
            op.kind is K.DEREGISTER_LICENSE and worker.license_status is LicenseStatus.DEREGISTERING
        ):
            command = FailLicenseDeregistration(*who, reason=reason, status=before)
            await ctx.record(fail_license_deregistration, command)
        elif op.kind is K.LAB and op.lab is not None:
            lab_failure = FailLabOperation(*who, op.version, op.lab, reason)
            await ctx.record(fail_lab_operation, lab_failure)
        elif op.kind is K.TAGS:
            await ctx.record(fail_tag_change, FailTagChange(*who, reason=reason))
        elif worker.status is INTENT.get(op.kind, WorkerStatus.PENDING):
            left = WorkerStatus.FAILED if op.kind is K.PROVISION else WorkerStatus.UNKNOWN
            failure = RecordOperationFailure(
                *who, operation=op.kind.value, reason=reason, status=left
            )
            await ctx.record(record_operation_failure, failure)
