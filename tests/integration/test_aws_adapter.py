"""The AWS adapter against moto (in-process): what an operator of a real account sees."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from uuid import uuid4

import pytest

from application.cloud import Launch
from application.ports_errors import CloudConflict
from infrastructure.outside.aws.instances import TOKEN_TAG
from tests.contract.aws_moto import AMI_ID, adapter_for_tests

moto = pytest.importorskip("moto", reason="the AWS adapter tests need moto (dev dependency)")
from infrastructure.outside.aws.cloud import AwsCloud  # noqa: E402  (needs boto3, like moto)

EU, US = "eu-west-1", "us-east-1"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Account:
    """An AWS account on moto: the adapter, and boto3 clients acting as the console."""

    cloud: AwsCloud
    ec2: Any
    cloudwatch: Any

    def launch(self, count: int, region: str = EU, **tags: str) -> list[str]:
        """Instances started from the console, not through cml-fleet."""
        tags = {"Name": "console", **tags}
        answer = self.cloud.clients.ec2(region).run_instances(
            ImageId=AMI_ID,
            MinCount=count,
            MaxCount=count,
            InstanceType="m5.2xlarge",
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": k, "Value": v} for k, v in {"Name": "console", **tags}.items()
                    ],
                }
            ],
        )
        return [i["InstanceId"] for i in answer["Instances"]]

    def report(self, instance_id: str, metric: str, value: float, at: datetime) -> None:
        namespace = "AWS/EC2" if metric == "CPUUtilization" else "CWAgent"
        self.cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    "Timestamp": at,
                    "Value": value,
                }
            ],
        )


@contextmanager
def open_account(**config: Any) -> Iterator[Account]:
    no_amis = mock.patch.dict(os.environ, {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"})
    with no_amis, moto.mock_aws():
        cloud = adapter_for_tests(regions=(EU, US), **config)
        yield Account(cloud, cloud.clients.ec2(EU), cloud.clients.cloudwatch(EU))


@pytest.fixture
def account() -> Iterator[Account]:
    with open_account(default_tags={"cost-center": "labs"}, detailed_monitoring=True) as opened:
        yield opened


async def launch(account: Account, name: str, token: str, **tags: str) -> str:
    return await account.cloud.run_instance(
        EU,
        Launch(instance_type="m5.2xlarge", name=name, client_token=token, ami_id=AMI_ID, tags=tags),
    )


def calls(account: Account, before: dict[str, int]) -> dict[str, int]:
    now = account.cloud.calls()
    return {k: now[k] - before.get(k, 0) for k in now if now[k] != before.get(k, 0)}


async def test_workers_tagged_as_cml_are_found_in_every_configured_region(
    account: Account,
) -> None:
    eu = account.launch(3, EU, role="cml")
    us = account.launch(2, US, role="cml")
    account.launch(2, EU, role="web")

    found = {
        region: await account.cloud.describe_instances(region, filters={"tag:role": ["cml"]})
        for region in account.cloud.regions
    }

    assert [i.instance_id for i in found[EU]] == sorted(eu)
    assert [i.instance_id for i in found[US]] == sorted(us)
    assert {i.region for i in found[US]} == {US}


async def test_hundreds_of_ids_are_described_in_batches_and_unknown_ones_are_skipped(
    account: Account,
) -> None:
    known = account.launch(2)
    forgotten = [f"i-{n:017x}" for n in range(199)]  # e.g. terminated over an hour ago
    before = account.cloud.calls()

    found = await account.cloud.describe_instances(EU, [*known, *forgotten])

    assert [i.instance_id for i in found] == sorted(known)
    assert calls(account, before) == {"ec2:DescribeInstances": 2}  # 200 ids per call


async def test_images_are_looked_up_by_name_in_one_call_per_region(account: Account) -> None:
    names = ("cml-2.9.0-1-x86_64", "cml-2.9.0-2-x86_64", "ubuntu-24.04-server-x86_64")
    ids = {name: account.ec2.register_image(Name=name)["ImageId"] for name in names}
    before = account.cloud.calls()

    found = await account.cloud.image_ids(EU, ["cml-2.9*", "cml-2.9*"])
    none = await account.cloud.image_ids(EU, [])

    assert found == tuple(sorted(ids[n] for n in names[:2])) and none == ()
    assert calls(account, before) == {"ec2:DescribeImages": 1}  # no patterns: no call


async def test_a_launch_carries_name_default_and_given_tags_and_detailed_monitoring(
    account: Account,
) -> None:
    instance_id = await launch(account, "lab-7", str(uuid4()), team="netops")

    (info,) = await account.cloud.describe_instances(EU, [instance_id])
    raw = account.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    assert info.tags == {"Name": "lab-7", "team": "netops", "cost-center": "labs"}
    assert info.name == "lab-7" and info.instance_type == "m5.2xlarge"
    assert raw["Instances"][0]["Monitoring"]["State"] == "enabled"
    assert TOKEN_TAG in {t["Key"] for t in raw["Instances"][0]["Tags"]}  # kept, not shown


async def test_a_retried_launch_returns_the_first_instance_even_where_tokens_are_ignored(
    account: Account,
) -> None:
    token = str(uuid4())
    first = await launch(account, "once", token)
    await account.cloud.stop_instance(EU, first)

    retries = await asyncio.gather(*(launch(account, "once", token) for _ in range(5)))

    assert set(retries) == {first}
    named = await account.cloud.describe_instances(EU, filters={"tag:Name": ["once"]})
    assert [i.instance_id for i in named] == [first]


async def test_a_token_reused_for_another_instance_type_is_a_conflict(account: Account) -> None:
    token = str(uuid4())
    await launch(account, "first", token)
    with pytest.raises(CloudConflict) as refused:
        await account.cloud.run_instance(
            EU, Launch(instance_type="c5.large", name="first", client_token=token, ami_id=AMI_ID)
        )
    assert refused.value.code == "IdempotentParameterMismatch"


async def test_a_launch_template_by_name_or_id_gives_its_image(account: Account) -> None:
    template = account.ec2.create_launch_template(
        LaunchTemplateName="cml-worker",
        LaunchTemplateData={"ImageId": "ami-0fedcba9876543210", "InstanceType": "m5.large"},
    )["LaunchTemplate"]

    by_name = await account.cloud.run_instance(
        EU,
        Launch(
            instance_type="m5.4xlarge", name="t1", client_token="t1", launch_template="cml-worker"
        ),
    )
    by_id = await account.cloud.run_instance(
        EU,
        Launch(
            instance_type="m5.4xlarge",
            name="t2",
            client_token="t2",
            launch_template=f"{template['LaunchTemplateId']}:1",
        ),
    )

    found = await account.cloud.describe_instances(EU, [by_name, by_id])
    assert {(i.ami_id, i.instance_type) for i in found} == {("ami-0fedcba9876543210", "m5.4xlarge")}


async def test_the_latest_datapoint_at_or_before_now_wins(account: Account) -> None:
    busy, quiet, silent = account.launch(3)
    for minutes, cpu in ((9, 91.0), (1, 42.0), (5, 64.0)):  # out of order on purpose
        account.report(busy, "CPUUtilization", cpu, NOW - timedelta(minutes=minutes))
    account.report(busy, "CPUUtilization", 99.0, NOW + timedelta(minutes=2))  # after now
    account.report(busy, "mem_used_percent", 71.5, NOW - timedelta(minutes=3))
    account.report(quiet, "CPUUtilization", 3.0, NOW - timedelta(minutes=2))
    account.report(silent, "CPUUtilization", 50.0, NOW - timedelta(hours=2))  # too old

    samples = await account.cloud.metrics(EU, [busy, quiet, silent], NOW)

    assert set(samples) == {busy, quiet}
    assert (samples[busy].cpu_percent, samples[busy].memory_percent) == (42.0, 71.5)
    assert samples[busy].at == NOW - timedelta(minutes=1)
    assert (samples[quiet].cpu_percent, samples[quiet].memory_percent) == (3.0, None)


async def test_metrics_of_many_workers_come_in_few_calls(account: Account) -> None:
    ids = [f"i-{n:017x}" for n in range(251)]  # CloudWatch knows ids, not instances
    for instance_id in ids[::50]:
        account.report(instance_id, "CPUUtilization", 12.5, NOW - timedelta(minutes=1))
    before = account.cloud.calls()

    samples = await account.cloud.metrics(EU, ids, NOW)

    assert set(samples) == set(ids[::50])
    assert calls(account, before) == {"cloudwatch:GetMetricData": 2}  # 250 workers per call
    cpu_only = adapter_for_tests(regions=(EU,), memory_metric=False)
    assert set(await cpu_only.metrics(EU, ids, NOW)) == set(ids[::50])
    assert cpu_only.calls() == {"cloudwatch:GetMetricData": 1}  # 500 workers per call


async def test_status_checks_cover_running_workers_and_skip_unknown_ones(
    account: Account,
) -> None:
    running = account.launch(101)
    stopped = account.launch(1)
    account.ec2.stop_instances(InstanceIds=stopped)
    before = account.cloud.calls()

    checks = await account.cloud.status_checks(EU, [*running, *stopped, "i-0000000000000dead"])

    assert set(checks) == set(running)
    assert {(c.system_status, c.instance_status) for c in checks.values()} == {("ok", "ok")}
    # two batches of 100; the one with the unknown id is asked again without it
    assert calls(account, before) == {"ec2:DescribeInstanceStatus": 3}


async def test_tags_change_without_wiping_the_others(account: Account) -> None:
    instance_id = await launch(account, "tagged", str(uuid4()), owner="ana", team="netops")

    await account.cloud.set_tags(EU, instance_id, {"owner": "bo"})
    await account.cloud.remove_tags(EU, instance_id, ["team"])

    (info,) = await account.cloud.describe_instances(EU, [instance_id])
    assert info.tags == {"Name": "tagged", "owner": "bo", "cost-center": "labs"}
