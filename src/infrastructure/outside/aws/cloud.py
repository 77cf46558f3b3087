"""``CloudPort`` on EC2 and CloudWatch through boto3.

Every boto3 call runs in a worker thread (bounded by ``max_concurrency``), never on
the event loop; big requests are cut into the batches AWS accepts and the batches run
concurrently. botocore retries throttling and server errors itself (adaptive mode);
what still fails reaches the caller as the port's errors.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from application.cloud import CloudMetrics, InstanceInfo, Launch, StatusCheck
from application.ports_errors import CloudError
from infrastructure.outside.aws import cloudwatch, ec2
from infrastructure.outside.aws.clients import AwsClients
from infrastructure.outside.aws.config import AwsConfig
from infrastructure.outside.aws.errors import translated
from infrastructure.outside.aws.instances import LaunchRequest, to_info

T = TypeVar("T")
R = TypeVar("R")


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(items))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


class AwsCloud:
    """The cloud port on AWS, for the regions of ``config`` (any region may be asked)."""

    def __init__(self, config: AwsConfig, clients: AwsClients | None = None) -> None:
        self.config = config
        self.clients = clients or AwsClients(config)
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        self._token_locks = ec2.TokenLocks()
        self._known_regions: frozenset[str] | None = None

    @property
    def regions(self) -> tuple[str, ...]:
        return self.config.regions

    def calls(self) -> dict[str, int]:
        """API calls made so far per ``service:Operation`` (e.g. ``ec2:DescribeInstances``)."""
        return self.clients.counter.calls()

    def retries(self) -> dict[str, int]:
        """Retries botocore made so far per ``service:Operation``."""
        return self.clients.counter.retries()

    def limiter(self, region: str) -> anyio.CapacityLimiter:
        """Threads for one region's calls: a region whose endpoint hangs holds its own
        threads only, never another region's (a bulkhead)."""
        limiter = self._limiters.get(region)
        if limiter is None:
            limiter = self._limiters.setdefault(
                region, anyio.CapacityLimiter(max(1, self.config.max_concurrency))
            )
        return limiter

    async def _run(self, region: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in one of ``region``'s threads, raising only the port's errors.
        A caller that gives up (a timeout) is not held until the thread ends: the call
        finishes on its own, bounded by botocore's timeouts."""
        call = functools.partial(translated(fn), *args)
        return await anyio.to_thread.run_sync(
            call, limiter=self.limiter(region), abandon_on_cancel=True
        )

    async def _each(
        self, region: str, fn: Callable[[list[str]], R], batches: Sequence[list[str]]
    ) -> list[R]:
        """``fn`` on every batch, concurrently; the first error is raised once all are done."""
        answers = await asyncio.gather(
            *(self._run(region, fn, b) for b in batches), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return answers  # type: ignore[return-value]

    # ------------------------------------------------------------------ reads

    async def describe_instances(
        self,
        region: str,
        instance_ids: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[InstanceInfo, ...]:
        client = self.clients.ec2

        def infos(ids: list[str] | None) -> list[InstanceInfo]:  # read in the thread too
            return [to_info(region, raw) for raw in ec2.describe(client(region), ids, filters)]

        if instance_ids is None:
            found = await self._run(region, infos, None)
        else:
            batches = chunks(instance_ids, ec2.DESCRIBE_IDS_PER_CALL)
            found = [info for page in await self._each(region, infos, batches) for info in page]
        return tuple(sorted(found, key=lambda i: i.instance_id))

    async def known_regions(self) -> frozenset[str]:
        """Every region botocore knows EC2 in (all partitions), and the configured ones
        (a region newer than this botocore still works when configured)."""
        if self._known_regions is None:
            known = await self._run("", self.clients.ec2_regions)
            self._known_regions = frozenset({*known, *self.config.regions})
        return self._known_regions

    async def image_ids(self, region: str, name_patterns: Sequence[str]) -> tuple[str, ...]:
        patterns = list(dict.fromkeys(name_patterns))
        return tuple(
            await self._run(region, lambda: ec2.image_ids(self.clients.ec2(region), patterns))
        )

    async def status_checks(
        self, region: str, instance_ids: Sequence[str]
    ) -> dict[str, StatusCheck]:
        batches = chunks(instance_ids, ec2.STATUS_IDS_PER_CALL)
        found = await self._each(
            region, lambda b: ec2.status_checks(self.clients.ec2(region), b), batches
        )
        return {k: v for checks in found for k, v in checks.items()}

    async def metrics(
        self, region: str, instance_ids: Sequence[str], now: datetime
    ) -> dict[str, CloudMetrics]:
        window = cloudwatch.MetricWindow(
            now=now,
            lookback=self.config.metrics_lookback,
            period_seconds=self.config.metrics_period_seconds,
            memory=self.config.memory_metric,
        )
        batches = chunks(instance_ids, cloudwatch.instances_per_call(window))
        found = await self._each(
            region, lambda b: cloudwatch.fetch(self.clients.cloudwatch(region), b, window), batches
        )
        return {k: v for answer in found for k, v in answer.items()}

    # ---------------------------------------------------------------- actions

    async def run_instance(self, region: str, launch: Launch) -> str:
        request = LaunchRequest(launch, self.config.detailed_monitoring)
        if launch.ami_id is None and launch.launch_template is None:
            raise CloudError("an AMI or a launch template is required", code="MissingParameter")
        client, tags = self.clients.ec2, self.config.default_tags
        return await self._run(
            region, lambda: ec2.launch(client(region), request, tags, self._token_locks)
        )

    async def start_instance(self, region: str, instance_id: str) -> str:
        return await self._run(
            region, lambda: ec2.act(self.clients.ec2(region), "start", instance_id)
        )

    async def stop_instance(self, region: str, instance_id: str) -> str:
        return await self._run(
            region, lambda: ec2.act(self.clients.ec2(region), "stop", instance_id)
        )

    async def terminate_instance(self, region: str, instance_id: str) -> str:
        return await self._run(
            region, lambda: ec2.act(self.clients.ec2(region), "terminate", instance_id)
        )

    async def set_tags(self, region: str, instance_id: str, tags: Mapping[str, str]) -> None:
        await self._run(region, lambda: ec2.set_tags(self.clients.ec2(region), instance_id, tags))

    async def remove_tags(self, region: str, instance_id: str, keys: Sequence[str]) -> None:
        await self._run(
            region, lambda: ec2.remove_tags(self.clients.ec2(region), instance_id, keys)
        )

    async def monitor_instances(self, region: str, instance_ids: Sequence[str]) -> dict[str, str]:
        """Turn on detailed monitoring (1-minute CloudWatch metrics), e.g. for imported
        workers; launches get it with ``detailed_monitoring``. Not part of the port."""
        if not instance_ids:
            return {}
        return await self._run(region, lambda: ec2.monitor(self.clients.ec2(region), instance_ids))
