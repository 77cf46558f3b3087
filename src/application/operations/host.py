"""Where an operation reaches a worker's CML."""

from __future__ import annotations

from application.jobs.observe import host_of
from application.operations.context import OperationContext
from application.operations.retry import describe
from application.ports_errors import CloudError
from domain.status import WorkerStatus
from domain.worker import CMLWorker


async def cml_host(ctx: OperationContext, worker: CMLWorker) -> tuple[str | None, str]:
    """Where the worker's CML answers (its recorded address, else what EC2 says: a
    worker imported a moment ago has none recorded yet), or why it cannot be reached."""
    if worker.status is not WorkerStatus.RUNNING or worker.instance_id is None:
        return None, f"the worker is not running ({worker.status.value}); start it and try again"
    host = host_of(worker.public_dns, worker.public_ip, worker.private_ip)
    if host is None:
        try:
            found = await ctx.cloud.describe_instances(worker.region, [worker.instance_id])
        except CloudError as error:
            return None, f"the worker's address is not known: {describe(error)}"
        host = next((host_of(i.public_dns, i.public_ip, i.private_ip) for i in found), None)
    return host, "the worker has no address yet; try again shortly"
