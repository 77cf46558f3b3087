"""The cloud port: what cml-fleet needs from EC2 and CloudWatch.

Implemented by the simulated fleet (the embedded default) and by the boto3 adapter.
Every method is async; the boto3 adapter runs its calls in threads. Errors are the
``CloudError`` family from :mod:`application.ports_errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Launch:
    """One instance to run, named, from an AMI or a launch template (``lt-…`` id or
    name, optionally ``name:version``), with its tags; ``client_token`` makes the
    launch idempotent."""

    instance_type: str
    name: str
    client_token: str
    ami_id: str | None = None
    launch_template: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


EC2_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
"""Every EC2 ``InstanceState.Name``."""


@dataclass(frozen=True)
class InstanceInfo:
    """One EC2 instance as ``DescribeInstances`` reports it."""

    instance_id: str
    region: str
    state: str
    instance_type: str
    ami_id: str | None = None
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    public_ip: str | None = None
    private_ip: str | None = None
    public_dns: str | None = None
    launch_time: datetime | None = None


@dataclass(frozen=True)
class StatusCheck:
    """EC2 status checks: ``ok``, ``impaired``, ``initializing``, ``insufficient-data``,
    ``not-applicable``."""

    instance_id: str
    system_status: str
    instance_status: str


@dataclass(frozen=True)
class CloudMetrics:
    """The latest CloudWatch datapoints of an instance; ``None`` when there is none
    (memory needs the CloudWatch agent)."""

    cpu_percent: float | None
    memory_percent: float | None
    at: datetime | None


class CloudPort(Protocol):
    """EC2 and CloudWatch, one region per call. Batched where AWS batches."""

    async def describe_instances(
        self,
        region: str,
        instance_ids: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[InstanceInfo, ...]:
        """Instances matching the ids and/or EC2 filters (``tag:Name``, ``image-id``,
        ``instance-state-name``, ...; ``*`` wildcards), all pages.

        Unknown ids are absent from the answer, not an error (real EC2 forgets
        terminated instances after about an hour).
        """
        ...

    async def known_regions(self) -> frozenset[str]:
        """Every region the cloud has (where a worker can be at all)."""
        ...

    async def image_ids(self, region: str, name_patterns: Sequence[str]) -> tuple[str, ...]:
        """Ids of the AMIs whose name matches any of ``name_patterns`` (``*`` and ``?``
        wildcards, like EC2's ``name`` filter on ``DescribeImages``), all pages, sorted.

        Owners are not restricted: any image the account can see counts (its own,
        shared with it, and public ones), so patterns should be specific. No pattern,
        or no match: an empty tuple.
        """
        ...

    async def run_instance(self, region: str, launch: Launch) -> str:
        """Launch one instance; returns its id. Idempotent per ``client_token`` like
        EC2: the same token returns the same instance; the same token with other
        parameters raises ``CloudConflict``."""
        ...

    async def start_instance(self, region: str, instance_id: str) -> str:
        """Start; returns the state after the call. Starting a running one is a no-op."""
        ...

    async def stop_instance(self, region: str, instance_id: str) -> str:
        """Stop; returns the state after the call. Stopping a stopped one is a no-op."""
        ...

    async def terminate_instance(self, region: str, instance_id: str) -> str:
        """Terminate; returns the state after the call. Idempotent."""
        ...

    async def status_checks(
        self, region: str, instance_ids: Sequence[str]
    ) -> dict[str, StatusCheck]:
        """Status checks of the running ones among ``instance_ids``."""
        ...

    async def metrics(
        self, region: str, instance_ids: Sequence[str], now: datetime
    ) -> dict[str, CloudMetrics]:
        """Latest CPU (and memory, where reported) at or before ``now``, batched.
        Instances without datapoints are absent."""
        ...

    async def set_tags(self, region: str, instance_id: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite these tags; others are kept."""
        ...

    async def remove_tags(self, region: str, instance_id: str, keys: Sequence[str]) -> None:
        """Remove these tag keys; others are kept."""
        ...
