"""Start, stop and terminate an instance, once, after checking what EC2 says.

The request moved the worker to ``starting``/``stopping``/``terminating``. If it is no
longer in that status, a later request or an observation superseded it: nothing to do.
Otherwise EC2 is asked for the instance's state first, and called only if the effect
is not there yet. Success is not recorded here: the metrics job observes the new
state (``running``, ``stopped``, ``terminated``) like any other change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum

from application.cloud import InstanceInfo
from application.commands.outcomes import (
    RecordOperationFailure,
    RecordTermination,
    record_operation_failure,
    record_termination,
)
from application.operations.context import OperationContext, Outcome, done, failed, skipped
from application.operations.provision import GONE
from application.operations.requests import INSTANCE_TAG, Operation, OperationKind
from application.operations.retry import GaveUp, NotYet, describe
from application.ports_errors import CloudError
from domain.policies import observed_status
from domain.status import WorkerStatus
from domain.worker import CMLWorker

K, S = OperationKind, WorkerStatus
INTENT = {K.START: S.STARTING, K.STOP: S.STOPPING, K.TERMINATE: S.TERMINATING}


class Step(Enum):
    CALL = "call"
    DONE = "done"
    """The effect is already there."""
    WAIT = "wait"
    """The instance is in transit; the call would be refused."""
    GONE = "gone"
    """Terminated (or terminating): there is nothing left to start or stop."""
    MISSING = "missing"


_STEPS = {
    K.START: {"pending": Step.DONE, "running": Step.DONE, "stopped": Step.CALL},
    K.STOP: {"pending": Step.CALL, "running": Step.CALL, "stopping": Step.DONE},
    K.TERMINATE: {"shutting-down": Step.DONE, "terminated": Step.DONE},
}
_STEPS[K.START]["stopping"] = Step.WAIT
_STEPS[K.STOP]["stopped"] = Step.DONE


def next_step(kind: OperationKind, state: str | None) -> Step:
    """What to do for ``kind`` when EC2 reports ``state`` (``None``: not found)."""
    if state is None:
        return Step.DONE if kind is K.TERMINATE else Step.MISSING
    if kind is not K.TERMINATE and state in GONE:
        return Step.GONE
    return _STEPS[kind].get(state, Step.CALL if kind is K.TERMINATE else Step.WAIT)


async def change_power(ctx: OperationContext, op: Operation) -> Outcome:
    worker = await ctx.load(op.worker_id)
    if worker.status is not INTENT[op.kind]:
        return skipped(f"superseded: the worker is {worker.status.value}")
    if op.kind is K.TERMINATE:
        return await _terminate(ctx, op, worker)
    instance_id = worker.instance_id
    if instance_id is None:
        return await _fail(ctx, op, "the worker has no instance", S.UNKNOWN)
    try:
        step = await ctx.retrying(_attempt(ctx, op.kind, worker.region, instance_id))
    except (CloudError, GaveUp) as error:
        return await _fail(ctx, op, describe(error), await _resting(ctx, worker))
    if step is Step.MISSING:
        reason = f"instance {instance_id} not found in {worker.region}"
        return await _fail(ctx, op, reason, S.UNKNOWN)
    return done(step.value)


def _attempt(
    ctx: OperationContext, kind: OperationKind, region: str, instance_id: str
) -> Callable[[int], Awaitable[Step]]:
    async def attempt(_: int) -> Step:
        return await _act(ctx, kind, region, instance_id)

    return attempt


async def _act(ctx: OperationContext, kind: OperationKind, region: str, instance_id: str) -> Step:
    """One attempt: look, then call only if needed. Raises ``NotYet`` to wait."""
    info = await _describe(ctx, region, instance_id)
    step = next_step(kind, info.state if info else None)
    if step is Step.WAIT:
        raise NotYet(f"instance {instance_id} is {info.state if info else 'gone'}")
    if step is Step.CALL:
        calls = {
            K.START: ctx.cloud.start_instance,
            K.STOP: ctx.cloud.stop_instance,
            K.TERMINATE: ctx.cloud.terminate_instance,
        }
        await calls[kind](region, instance_id)
    return step


async def _describe(ctx: OperationContext, region: str, instance_id: str) -> InstanceInfo | None:
    found = await ctx.cloud.describe_instances(region, [instance_id])
    return next((i for i in found if i.instance_id == instance_id), None)


async def _terminate(ctx: OperationContext, op: Operation, worker: CMLWorker) -> Outcome:
    """Terminate the instance (or the one launched but never recorded, found by tag);
    record the end at once when there is nothing for the metrics job to watch."""
    try:
        ids = await ctx.retrying(lambda _: _instances_of(ctx, worker))
        for instance_id in ids:
            await ctx.retrying(_attempt(ctx, K.TERMINATE, worker.region, instance_id))
    except (CloudError, GaveUp) as error:
        return await _fail(ctx, op, describe(error), await _resting(ctx, worker))
    if worker.instance_id is None or not ids:
        reason = (
            "terminated on request: no instance had been launched"
            if worker.instance_id is None and not ids
            else "terminated on request: the instance was already gone"
        )
        command = RecordTermination(op.worker_id, ctx.config.actor, op.correlation_id, reason)
        await ctx.record(record_termination, command)
        return done("terminated")
    return done("terminating")


async def _instances_of(ctx: OperationContext, worker: CMLWorker) -> list[str]:
    if worker.instance_id is not None:
        info = await _describe(ctx, worker.region, worker.instance_id)
        return [] if info is None or info.state == "terminated" else [worker.instance_id]
    tagged = {f"tag:{INSTANCE_TAG}": [str(worker.id)]}
    found = await ctx.cloud.describe_instances(worker.region, filters=tagged)
    return [i.instance_id for i in found if i.state != "terminated"]


async def _resting(ctx: OperationContext, worker: CMLWorker) -> WorkerStatus:
    """The status EC2 leaves the worker in after a failure; ``unknown`` if EC2 is mute."""
    if worker.instance_id is None:
        return S.UNKNOWN
    try:
        info = await _describe(ctx, worker.region, worker.instance_id)
    except CloudError:
        return S.UNKNOWN
    return observed_status(S.UNKNOWN, info.state if info else None)


async def _fail(ctx: OperationContext, op: Operation, reason: str, status: WorkerStatus) -> Outcome:
    command = RecordOperationFailure(
        op.worker_id,
        ctx.config.actor,
        op.correlation_id,
        operation=op.kind.value,
        reason=reason,
        status=status,
    )
    await ctx.record(record_operation_failure, command)
    return failed(reason)
