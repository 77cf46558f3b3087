"""Pointed at an EC2/CloudWatch endpoint by settings alone (``moto_server`` on
127.0.0.1 standing in for AWS), cml-fleet finds the CML workers, starts and stops
them, and reads their metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from tests.fakes.moto import moto_server

pytest.importorskip("moto.server", reason="needs moto[server] (dev dependency)")
import boto3

from infrastructure.outside.aws.cloud import AwsCloud

REGION = "eu-west-1"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def console(endpoint: str, service: str) -> Any:
    """The operator's own boto3 client on the same endpoint (the "AWS console")."""
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **KEYS)


def cml_workers(endpoint: str, count: int) -> list[str]:
    answer = console(endpoint, "ec2").run_instances(
        ImageId="ami-0123456789abcdef0",
        MinCount=count,
        MaxCount=count,
        InstanceType="m5.2xlarge",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "cml-fleet:role", "Value": "worker"}]}
        ],
    )
    return sorted(i["InstanceId"] for i in answer["Instances"])


async def test_a_new_user_points_cml_fleet_at_an_endpoint_and_runs_the_fleet(
    endpoint: str, tmp_path: Path
) -> None:
    workers = cml_workers(endpoint, 3)
    settings = Settings(
        data_dir=tmp_path,
        persistence="memory",
        cloud="aws",
        aws_regions=(REGION,),
        aws_endpoint_url=endpoint,
        aws_access_key_id="testing",  # type: ignore[arg-type]  # pydantic makes it a SecretStr
        aws_secret_access_key="testing",  # type: ignore[arg-type]
    )
    cloud = bootstrap(settings).cloud
    assert isinstance(cloud, AwsCloud)

    found = await cloud.describe_instances(REGION, filters={"tag:cml-fleet:role": ["worker"]})
    assert [i.instance_id for i in found] == workers
    assert {i.state for i in found} == {"running"}

    first = workers[0]
    assert await cloud.stop_instance(REGION, first) in ("stopping", "stopped")
    assert (await cloud.describe_instances(REGION, [first]))[0].state == "stopped"
    assert await cloud.start_instance(REGION, first) in ("pending", "running")

    now = datetime.now(UTC).replace(microsecond=0)
    console(endpoint, "cloudwatch").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": w}],
                "Timestamp": now - timedelta(minutes=1),
                "Value": 20.0 + n,
            }
            for n, w in enumerate(workers)
        ],
    )
    samples = await cloud.metrics(REGION, workers, now)
    assert {w: s.cpu_percent for w, s in samples.items()} == {
        w: 20.0 + n for n, w in enumerate(workers)
    }
    assert cloud.calls()["cloudwatch:GetMetricData"] == 1
