"""EC2 and CloudWatch for one region, in a few batched calls, behind a bulkhead.

Whatever one region's calls raise stays with that region: the port's errors, and
anything unexpected an adapter lets through (a bug, a library error it does not
know). The job carries on with the other regions; this region's workers keep what
was last recorded until it answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from application.cloud import CloudMetrics, CloudPort, InstanceInfo, StatusCheck
from application.ports_errors import CloudError, failure_kind

CALLS = ("describe", "status", "metrics")
T = TypeVar("T")


@dataclass(frozen=True)
class CallFailure:
    """One call of a region that failed: which, how (a stable class of failure, the
    same from one cycle to the next), and the error itself (for the log only)."""

    call: str
    kind: str
    error: BaseException

    @property
    def unexpected(self) -> bool:
        """Not one of the port's errors: an adapter let something through."""
        return not isinstance(self.error, CloudError)

    def __str__(self) -> str:
        return f"{self.call}: {self.kind}"


@dataclass(frozen=True)
class RegionView:
    """What EC2 and CloudWatch said about a region's workers; ``None`` where the call
    failed (its failure is in ``failures``) or the region was not asked (backed off)."""

    instances: dict[str, InstanceInfo] | None
    checks: dict[str, StatusCheck] | None
    metrics: dict[str, CloudMetrics] | None
    failures: tuple[CallFailure, ...] = ()
    backed_off: bool = False

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(str(f) for f in self.failures)


NOT_ASKED = RegionView(instances=None, checks=None, metrics=None, backed_off=True)


async def look_at_region(
    cloud: CloudPort,
    region: str,
    instance_ids: Sequence[str],
    now: datetime,
    timeout: float | None = None,
) -> RegionView:
    """The three calls at once; each that has not answered within ``timeout`` seconds
    counts as failed ("no answer in time"), so a region that hangs holds up no other."""

    async def bounded(call: Awaitable[T]) -> T:
        async with asyncio.timeout(timeout):
            return await call

    answers = await asyncio.gather(
        bounded(cloud.describe_instances(region, instance_ids)),
        bounded(cloud.status_checks(region, instance_ids)),
        bounded(cloud.metrics(region, instance_ids, now)),
        return_exceptions=True,
    )
    failures = []
    for call, answer in zip(CALLS, answers, strict=True):
        if isinstance(answer, Exception):
            failures.append(CallFailure(call, failure_kind(answer), answer))
        elif isinstance(answer, BaseException):
            raise answer  # cancelled: the cycle is being stopped
    described, checks, metrics = answers
    return RegionView(
        instances=None if isinstance(described, BaseException) else _by_id(described),
        checks=None if isinstance(checks, BaseException) else checks,
        metrics=None if isinstance(metrics, BaseException) else metrics,
        failures=tuple(failures),
    )


def _by_id(instances: Sequence[InstanceInfo]) -> dict[str, InstanceInfo]:
    return {i.instance_id: i for i in instances}
