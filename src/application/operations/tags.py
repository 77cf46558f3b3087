"""Write a worker's tag change to EC2, once, after checking what EC2 holds.

The change asked for (``TagsChanged``) is written as it was asked: the keys it set and
the keys it removed, nothing else, so tags changed in EC2 directly meanwhile are left
alone. EC2 is read first and called only for what is not there yet, so a second run
(after a crash) calls nothing. Success is recorded as ``TagsApplied``; a failure as an
operation failure, which drops every tag change still pending: the worker's tags go
back to what EC2 holds at the next observation, and its history says why.
"""

from __future__ import annotations

from application.cloud import InstanceInfo
from application.commands.outcomes import ConfirmTags, FailTagChange, confirm_tags, fail_tag_change
from application.operations.context import OperationContext, Outcome, done, failed, skipped
from application.operations.requests import Operation, TagPatch
from application.operations.retry import GaveUp, describe
from application.ports_errors import CloudError


async def write_tags(ctx: OperationContext, op: Operation) -> Outcome:
    worker, patch = await ctx.load(op.worker_id), op.tags
    if worker.is_final or worker.tags_pending_version is None or patch is None:
        return skipped("no tag change pending")
    instance_id, region = worker.instance_id, worker.region
    if instance_id is not None:

        async def attempt(_: int) -> None:
            await _write(ctx, region, instance_id, patch)

        try:
            await ctx.retrying(attempt)
        except (CloudError, GaveUp) as error:
            reason = describe(error)
            command = FailTagChange(op.worker_id, ctx.config.actor, op.correlation_id, reason)
            await ctx.record(fail_tag_change, command)
            return failed(reason)
    confirm = ConfirmTags(op.worker_id, ctx.config.actor, op.correlation_id, op.version)
    await ctx.record(confirm_tags, confirm)
    return done("written" if instance_id else "no instance yet: the tags go with the launch")


async def _write(ctx: OperationContext, region: str, instance_id: str, patch: TagPatch) -> None:
    """One attempt: read the instance's tags, then set and remove what differs."""
    found = await ctx.cloud.describe_instances(region, [instance_id])
    info: InstanceInfo | None = next((i for i in found if i.instance_id == instance_id), None)
    if info is None:
        raise CloudError(f"instance {instance_id} not found in {region}", code="NotFound")
    to_set = {k: v for k, v in patch.added.items() if info.tags.get(k) != v}
    to_remove = [k for k in patch.removed if k in info.tags]
    if to_set:
        await ctx.cloud.set_tags(region, instance_id, to_set)
    if to_remove:
        await ctx.cloud.remove_tags(region, instance_id, to_remove)
