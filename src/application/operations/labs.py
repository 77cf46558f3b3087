"""Carry out a lab operation on a worker's CML: start, stop, wipe or delete a lab, or
import a topology. Checked against the worker first (a request that already ended is
skipped), retried on transient errors, and safe to run twice: starting a started lab
or stopping a stopped one is nothing to CML, a lab already deleted is what was asked,
and a retried import first looks for the lab an earlier attempt may have made. The
lab's row is refreshed at once (the metrics job would see it next cycle), then the
outcome is recorded with the state CML reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from application.cml import CmlLab, LabAction
from application.commands.labs import (
    CompleteLabOperation,
    FailLabOperation,
    complete_lab_operation,
    fail_lab_operation,
)
from application.operations.context import OperationContext, Outcome, done, failed, skipped
from application.operations.host import cml_host
from application.operations.requests import Operation
from application.operations.retry import GaveUp, describe
from application.ports_errors import CmlError
from domain.labs import IMPORT, LabOperation

TOPOLOGY_GONE = "the topology to import is no longer held (kept 15 minutes); import it again"


def topology_key(worker_id: object, correlation_id: str, digest: str) -> str:
    """Where an import's topology waits: one request, one topology."""
    return f"{worker_id}/{correlation_id}/{digest}"


async def act_on_lab(ctx: OperationContext, op: Operation) -> Outcome:
    request = op.lab
    assert request is not None
    worker = await ctx.load(op.worker_id)
    if op.version not in worker.lab_operations_pending:
        return skipped("the lab operation has already ended")
    topology = None
    if request.kind == IMPORT:
        topology = await _topology(ctx, op)
        if topology is None:
            return await _failed(ctx, op, request, TOPOLOGY_GONE)
    host, unreachable = await cml_host(ctx, worker)
    if host is None:
        return await _failed(ctx, op, request, unreachable)
    try:
        if topology is not None:
            title = op.lab_import.title if op.lab_import else None
            lab_id = await _import(ctx, host, topology, title)
        else:
            assert request.lab_id is not None
            lab_id = request.lab_id
            await ctx.retrying(lambda _: _act(ctx, host, request))
        lab = await ctx.retrying(lambda _: ctx.cml.lab(host, lab_id))
    except (CmlError, GaveUp) as error:
        return await _failed(ctx, op, request, describe(error))
    await _refresh_row(ctx, op, lab_id, lab)
    outcome = LabOperation(request.kind, lab_id)
    state = None if lab is None else lab.state
    command = CompleteLabOperation(
        op.worker_id, ctx.config.actor, op.correlation_id, op.version, outcome, state
    )
    await ctx.record(complete_lab_operation, command)
    return done(state or "deleted")


async def _topology(ctx: OperationContext, op: Operation) -> dict[str, Any] | None:
    if ctx.labs is None or op.lab_import is None:
        return None
    key = topology_key(op.worker_id, op.correlation_id, op.lab_import.digest)
    return await ctx.run_sync(ctx.labs.take_topology, key, ctx.clock.now())


async def _act(ctx: OperationContext, host: str, lab: LabOperation) -> None:
    assert lab.lab_id is not None
    try:
        await ctx.cml.act_on_lab(host, lab.lab_id, LabAction(lab.kind))
    except CmlError as error:
        # A delete whose lab is gone is done (an earlier attempt's answer was lost, or
        # someone deleted it first): the lab is not there, as asked.
        if not (error.status == 404 and lab.kind == LabAction.DELETE.value):
            raise


async def _import(
    ctx: OperationContext, host: str, topology: Mapping[str, Any], title: str | None
) -> str:
    """Import once: a retry first looks for a lab made since the first attempt with the
    title asked for (the first attempt's answer may have been lost after CML acted)."""
    before = set(await ctx.retrying(lambda _: ctx.cml.lab_ids(host)))
    wanted = title or str((topology.get("lab") or {}).get("title") or "")

    async def attempt(number: int) -> str:
        if number > 0:
            for lab_id in set(await ctx.cml.lab_ids(host)) - before:
                made = await ctx.cml.lab(host, lab_id)
                if made is not None and (not wanted or made.title == wanted):
                    return lab_id
        return await ctx.cml.import_lab(host, topology, title)

    lab_id: str = await ctx.retrying(attempt)
    return lab_id


async def _refresh_row(
    ctx: OperationContext, op: Operation, lab_id: str, lab: CmlLab | None
) -> None:
    if ctx.labs is None:
        return
    if lab is None:
        await ctx.run_sync(ctx.labs.remove, str(op.worker_id), lab_id)
    else:
        await ctx.run_sync(ctx.labs.put, str(op.worker_id), lab, ctx.clock.now())


async def _failed(ctx: OperationContext, op: Operation, lab: LabOperation, reason: str) -> Outcome:
    command = FailLabOperation(
        op.worker_id, ctx.config.actor, op.correlation_id, op.version, lab, reason
    )
    await ctx.record(fail_lab_operation, command)
    return failed(reason)
