"""The cloud port on the simulated world, plus "AWS console" helpers for tests.

Behaves like EC2 where it matters to cml-fleet: ``RunInstances`` is idempotent per
client token, unknown ids raise ``CloudNotFound`` on actions but are simply absent
from ``DescribeInstances``, terminated instances stay visible for an hour, and a
timeout may come after the call took effect (the caller cannot tell which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from fnmatch import fnmatchcase

from application import ports_errors as errors
from application.cloud import CloudMetrics, InstanceInfo, Launch, StatusCheck
from infrastructure.outside.simulated import images
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.outside.simulated.regions import EC2_REGIONS
from infrastructure.outside.simulated.world import Fault, RegionFault, SimWorld

DESCRIBE_PAGE, STATUS_PAGE, METRICS_PAGE = 1000, 100, 250


def _chunks(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)] or [ids]


class SimulatedCloud:
    """``CloudPort`` over a :class:`SimWorld`."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    async def _call(self, op: str, region: str, *, effect_follows: bool = False) -> Fault:
        fault = await self.world.enter(f"ec2:{op}", region)
        broken = self.world.knobs.region_faults.get(region)
        if broken is not None:
            raise _region_error(broken, op)
        if fault is Fault.ERROR:
            kind = (
                errors.CloudThrottled
                if self.world.count(f"ec2:{op}") % 2
                else errors.CloudTransient
            )
            raise kind(f"{op} failed (simulated)", code="RequestLimitExceeded")
        if fault is Fault.TIMEOUT_BEFORE or (fault is Fault.TIMEOUT_AFTER and not effect_follows):
            raise errors.CloudTimeout(f"{op} timed out (simulated)")
        return fault

    def _get(self, region: str, instance_id: str) -> SimInstance:
        instance = self.world.find(instance_id, region)
        if instance is None:
            raise errors.CloudNotFound(
                f"{instance_id} not found", code="InvalidInstanceID.NotFound"
            )
        return instance

    # ------------------------------------------------------------- describe

    async def describe_instances(
        self,
        region: str,
        instance_ids: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[InstanceInfo, ...]:
        for _ in _chunks(list(instance_ids or ()), DESCRIBE_PAGE):
            await self._call("DescribeInstances", region)
        wanted = None if instance_ids is None else set(instance_ids)
        found = [
            i.info()
            for i in self.world.in_region(region)
            if wanted is None or i.instance_id in wanted
        ]
        for name, patterns in (filters or {}).items():
            found = [i for i in found if _matches(i, name, patterns)]
        return tuple(sorted(found, key=lambda i: i.instance_id))

    async def known_regions(self) -> frozenset[str]:
        """EC2's regions (and any the world was seeded with): no call, like botocore."""
        return EC2_REGIONS | frozenset(self.world.regions())

    async def image_ids(self, region: str, name_patterns: Sequence[str]) -> tuple[str, ...]:
        """The catalogue's images (the same in every region) matching by name."""
        if not name_patterns:  # like the AWS adapter: nothing to ask
            return ()
        await self._call("DescribeImages", region)
        return images.image_ids(name_patterns)

    async def status_checks(
        self, region: str, instance_ids: Sequence[str]
    ) -> dict[str, StatusCheck]:
        for _ in _chunks(list(instance_ids), STATUS_PAGE):
            await self._call("DescribeInstanceStatus", region)
        now = self.world.now()
        found = (self.world.find(i, region) for i in instance_ids)
        return {
            i.instance_id: i.status_check(now)
            for i in found
            if i is not None and i.state == "running"
        }

    async def metrics(
        self, region: str, instance_ids: Sequence[str], now: datetime
    ) -> dict[str, CloudMetrics]:
        for _ in _chunks(list(instance_ids), METRICS_PAGE):
            await self._call("GetMetricData", region)
        answers = {}
        for instance_id in instance_ids:
            instance = self.world.find(instance_id, region)
            sample = None if instance is None else instance.cloud_metrics()
            if sample is not None:
                answers[instance_id] = sample
        return answers

    # -------------------------------------------------------------- actions

    async def run_instance(self, region: str, launch: Launch) -> str:
        client_token, ami_id = launch.client_token, launch.ami_id
        self.world.count_token(client_token)
        fault = await self._call("RunInstances", region, effect_follows=True)
        if ami_id is None and launch.launch_template is None:
            raise errors.CloudError(
                "an AMI or a launch template is required", code="MissingParameter"
            )
        params = (region, launch.instance_type, ami_id, launch.launch_template)
        with self.world.lock:
            known = self.world.tokens.get(client_token)
            if known is not None and known[1] != params:
                raise errors.CloudConflict(
                    "client token reused", code="IdempotentParameterMismatch"
                )
            if known is None:
                ami = ami_id or images.CML_IMAGE  # what every simulated template launches
                tags = {**launch.tags, "Name": launch.name}
                instance = self.world.launch(
                    region, launch.instance_type, ami, tags, token=client_token, params=params
                )
                known = (instance.instance_id, params)
        if fault is Fault.TIMEOUT_AFTER:
            raise errors.CloudTimeout("RunInstances timed out (simulated)")
        return known[0]

    async def _act(self, op: str, action: str, region: str, instance_id: str) -> str:
        fault = await self._call(op, region, effect_follows=True)
        with self.world.lock:
            instance = self._get(region, instance_id)
            self.world.act(instance, action)
            state = instance.state
        if fault is Fault.TIMEOUT_AFTER:
            raise errors.CloudTimeout(f"{op} timed out (simulated)")
        return state

    async def start_instance(self, region: str, instance_id: str) -> str:
        return await self._act("StartInstances", "start", region, instance_id)

    async def stop_instance(self, region: str, instance_id: str) -> str:
        return await self._act("StopInstances", "stop", region, instance_id)

    async def terminate_instance(self, region: str, instance_id: str) -> str:
        return await self._act("TerminateInstances", "terminate", region, instance_id)

    async def set_tags(self, region: str, instance_id: str, tags: Mapping[str, str]) -> None:
        await self._call("CreateTags", region)
        with self.world.lock:
            self.world.retag(self._get(region, instance_id), tags, ())

    async def remove_tags(self, region: str, instance_id: str, keys: Sequence[str]) -> None:
        await self._call("DeleteTags", region)
        with self.world.lock:
            self.world.retag(self._get(region, instance_id), {}, keys)

    # -------------------------------------------- the "AWS console" (tests)

    def console_start(self, instance_id: str) -> str:
        """Start an instance behind cml-fleet's back (not counted, never fails)."""
        return self._console("start", instance_id)

    def console_stop(self, instance_id: str) -> str:
        return self._console("stop", instance_id)

    def console_terminate(self, instance_id: str) -> str:
        return self._console("terminate", instance_id)

    def _console(self, action: str, instance_id: str) -> str:
        with self.world.lock:
            instance = self.world.find(instance_id)
            if instance is None:
                raise errors.CloudNotFound(
                    f"{instance_id} not found", code="InvalidInstanceID.NotFound"
                )
            self.world.act(instance, action)
            return instance.state


def _region_error(fault: RegionFault, op: str) -> errors.CloudError:
    """What the AWS adapter raises when a region's endpoint fails this way."""
    match fault:
        case RegionFault.REFUSED:
            return errors.CloudUnauthorized(f"{op}: not authorized (simulated)", code="AuthFailure")
        case RegionFault.THROTTLED:
            return errors.CloudThrottled(
                f"{op}: slow down (simulated)", code="RequestLimitExceeded"
            )
        case RegionFault.SERVER_ERROR:
            return errors.CloudTransient(f"{op}: internal error (simulated)", code="InternalError")
        case RegionFault.NOT_AWS:
            return errors.CloudTransient(
                "the endpoint's answer is not an AWS answer", code="Unparseable"
            )
        case RegionFault.NO_ANSWER:
            return errors.CloudTimeout(f"{op}: read timeout (simulated)")
    return errors.CloudTransient(f"{op}: connection refused (simulated)")


def _filter_values(info: InstanceInfo, name: str) -> list[str]:
    simple = {
        "instance-id": info.instance_id,
        "instance-state-name": info.state,
        "image-id": info.ami_id,
        "instance-type": info.instance_type,
        "private-ip-address": info.private_ip,
        "ip-address": info.public_ip,
    }
    if name in simple:
        return [v for v in (simple[name],) if v is not None]
    if name.startswith("tag:"):
        key = name[4:]
        return [info.tags[key]] if key in info.tags else []
    if name == "tag-key":
        return list(info.tags)
    if name == "tag-value":
        return list(info.tags.values())
    raise errors.CloudError(f"unsupported filter {name}", code="InvalidParameterValue")


def _matches(info: InstanceInfo, name: str, patterns: Sequence[str]) -> bool:
    values = _filter_values(info, name)
    return any(fnmatchcase(v, p) for v in values for p in patterns)
