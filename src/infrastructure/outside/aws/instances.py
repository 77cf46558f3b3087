"""EC2 shapes in and out: ``InstanceInfo`` from a ``DescribeInstances`` item, filters,
tags, the launch request. Pure functions, no calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from application.cloud import InstanceInfo, Launch, StatusCheck

TOKEN_TAG = "cml-fleet:client-token"
"""Our own tag: the client token an instance was launched with (see ``ec2.launch``).
Bookkeeping of this adapter, so it is left out of ``InstanceInfo.tags``."""


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def tag_dict(raw: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw or ()}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def to_info(region: str, raw: Mapping[str, Any]) -> InstanceInfo:
    tags = tag_dict(raw.get("Tags"))
    tags.pop(TOKEN_TAG, None)
    return InstanceInfo(
        instance_id=raw["InstanceId"],
        region=region,
        state=raw["State"]["Name"],
        instance_type=raw["InstanceType"],
        ami_id=raw.get("ImageId"),
        name=tags.get("Name"),
        tags=tags,
        public_ip=raw.get("PublicIpAddress") or None,
        private_ip=raw.get("PrivateIpAddress") or None,
        public_dns=raw.get("PublicDnsName") or None,  # EC2 says "" when there is none
        launch_time=utc(raw.get("LaunchTime")),
    )


def to_status_check(raw: Mapping[str, Any]) -> StatusCheck | None:
    """The checks of a running instance; ``None`` for the others (EC2 reports
    ``not-applicable`` for them when ``IncludeAllInstances`` is set)."""
    if raw["InstanceState"]["Name"] != "running":
        return None
    return StatusCheck(
        instance_id=raw["InstanceId"],
        system_status=raw["SystemStatus"]["Status"],
        instance_status=raw["InstanceStatus"]["Status"],
    )


def ec2_filters(filters: Mapping[str, Sequence[str]] | None) -> list[dict[str, Any]]:
    return [{"Name": name, "Values": list(values)} for name, values in (filters or {}).items()]


NO_OP = {
    "start": ("pending", "running"),
    "stop": ("stopping", "stopped"),
    "terminate": ("shutting-down", "terminated"),
}


def settled_state(action: str, change: Mapping[str, Any]) -> str:
    """The state after a start/stop/terminate, from its ``*Instances`` item.

    An instance already on its way (or there) was not touched: its previous state is
    the answer. EC2 says so itself; some fakes (moto) report a transition instead.
    """
    previous = change["PreviousState"]["Name"]
    if previous in NO_OP[action]:
        return str(previous)
    return str(change["CurrentState"]["Name"])


@dataclass(frozen=True)
class LaunchRequest:
    """A launch as ``RunInstances`` takes it."""

    launch: Launch
    detailed_monitoring: bool = False

    @property
    def client_token(self) -> str:
        return self.launch.client_token

    def parameters(self, default_tags: Mapping[str, str]) -> dict[str, Any]:
        """``RunInstances`` parameters. Tags: defaults < given < Name < our token tag;
        volumes get the same tags (cost reports) without the token."""
        tags = {**default_tags, **self.launch.tags, "Name": self.launch.name}
        params: dict[str, Any] = {
            "MinCount": 1,
            "MaxCount": 1,
            "InstanceType": self.launch.instance_type,
            "ClientToken": self.launch.client_token,
            "TagSpecifications": [
                {
                    "ResourceType": "instance",
                    "Tags": tag_list({**tags, TOKEN_TAG: self.launch.client_token}),
                },
                {"ResourceType": "volume", "Tags": tag_list(tags)},
            ],
        }
        if self.launch.ami_id is not None:
            params["ImageId"] = self.launch.ami_id
        if self.launch.launch_template is not None:
            params["LaunchTemplate"] = launch_template_spec(self.launch.launch_template)
        if self.detailed_monitoring:
            params["Monitoring"] = {"Enabled": True}
        return params

    def differs_from(self, raw: Mapping[str, Any]) -> bool:
        """Whether an instance launched with our token was launched for another request
        (what EC2 calls ``IdempotentParameterMismatch``)."""
        if raw["InstanceType"] != self.launch.instance_type:
            return True
        return self.launch.ami_id is not None and raw.get("ImageId") != self.launch.ami_id


def launch_template_spec(template: str) -> dict[str, str]:
    name, _, version = template.partition(":")
    key = "LaunchTemplateId" if name.startswith("lt-") else "LaunchTemplateName"
    return {key: name, "Version": version or "$Default"}
