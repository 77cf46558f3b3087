"""EC2 and CloudWatch for one region, in a few batched calls."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from application.cloud import CloudMetrics, CloudPort, InstanceInfo, StatusCheck
from application.ports_errors import CloudError


@dataclass(frozen=True)
class RegionView:
    """What EC2 and CloudWatch said about a region's workers; ``None`` where the call
    failed (its error is in ``errors``)."""

    instances: dict[str, InstanceInfo] | None
    checks: dict[str, StatusCheck] | None
    metrics: dict[str, CloudMetrics] | None
    errors: tuple[str, ...] = ()


async def look_at_region(
    cloud: CloudPort, region: str, instance_ids: Sequence[str], now: datetime
) -> RegionView:
    described, checks, metrics = await asyncio.gather(
        cloud.describe_instances(region, instance_ids),
        cloud.status_checks(region, instance_ids),
        cloud.metrics(region, instance_ids, now),
        return_exceptions=True,
    )
    errors = []
    for name, answer in (("describe", described), ("status", checks), ("metrics", metrics)):
        if isinstance(answer, CloudError):
            errors.append(f"{name}: {answer}")
        elif isinstance(answer, BaseException):
            raise answer
    return RegionView(
        instances=None if isinstance(described, BaseException) else _by_id(described),
        checks=None if isinstance(checks, BaseException) else checks,
        metrics=None if isinstance(metrics, BaseException) else metrics,
        errors=tuple(errors),
    )


def _by_id(instances: Sequence[InstanceInfo]) -> dict[str, InstanceInfo]:
    return {i.instance_id: i for i in instances}
