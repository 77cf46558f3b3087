"""Provisioning: launch a requested worker's instance, at most once.

Two guards: the instance is looked for by its worker-id tag before launching (a launch
may have happened before a crash or a timeout), and the launch carries a client token
derived from the worker, so EC2 itself never launches twice for it.
"""

from __future__ import annotations

from application.cloud import Launch
from application.commands.outcomes import (
    AssignInstance,
    RecordOperationFailure,
    assign_instance,
    record_operation_failure,
)
from application.operations.context import OperationContext, Outcome, done, failed, skipped
from application.operations.requests import INSTANCE_TAG, Operation, client_token
from application.operations.retry import GaveUp, describe
from application.ports_errors import CloudError
from domain.errors import DomainError
from domain.status import WorkerStatus
from domain.worker import CMLWorker

GONE = frozenset({"shutting-down", "terminated"})


async def provision(ctx: OperationContext, op: Operation) -> Outcome:
    worker = await ctx.load(op.worker_id)
    if worker.status is not WorkerStatus.PENDING or worker.instance_id is not None:
        return skipped(f"no longer waiting for an instance ({worker.status.value})")
    try:
        instance_id: str = await ctx.retrying(lambda _: _launch(ctx, worker, op))
    except (CloudError, GaveUp) as error:
        command = RecordOperationFailure(
            op.worker_id,
            ctx.config.actor,
            op.correlation_id,
            operation=op.kind.value,
            reason=describe(error),
            status=WorkerStatus.FAILED,
        )
        await ctx.record(record_operation_failure, command)
        return failed(describe(error))
    assign = AssignInstance(op.worker_id, ctx.config.actor, op.correlation_id, instance_id)
    try:
        await ctx.record(assign_instance, assign)
    except DomainError:
        # Terminated (or asked to be) meanwhile: the terminate operation finds the
        # instance by its tag.
        return skipped(f"instance {instance_id} launched, but the worker moved on")
    return done(f"instance {instance_id}")


async def _launch(ctx: OperationContext, worker: CMLWorker, op: Operation) -> str:
    tagged = {f"tag:{INSTANCE_TAG}": [str(worker.id)]}
    found = await ctx.cloud.describe_instances(worker.region, filters=tagged)
    alive = [i for i in found if i.state not in GONE]
    if alive:
        return alive[0].instance_id  # launched before a crash or a timed-out answer
    return await ctx.cloud.run_instance(
        worker.region,
        Launch(
            instance_type=worker.instance_type,
            name=worker.name,
            client_token=client_token(worker.id, op.version),
            ami_id=worker.ami_id,
            launch_template=worker.launch_template,
            tags={**worker.tags, INSTANCE_TAG: str(worker.id)},
        ),
    )
