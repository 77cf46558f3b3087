"""The AWS adapter on moto (in-process ``mock_aws``), as a contract-suite harness.

moto changes state at once (no pending phase) and has no clock, so "letting time
pass" moves a virtual clock on by at least an hour (longer than the adapter's metric
look-back, so stopped instances fall silent) and has every running instance report
CPU to CloudWatch at the new time, as EC2 does, and half of them memory, as the
CloudWatch agent does.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from pydantic import SecretStr

from infrastructure.outside.simulated.world import RegionFault
from tests.contract.conftest import FleetHarness

if TYPE_CHECKING:
    from infrastructure.outside.aws.clients import AwsClients
    from infrastructure.outside.aws.cloud import AwsCloud
    from infrastructure.outside.aws.config import AwsConfig

REGION = "eu-west-1"
AMI_ID = "ami-0123456789abcdef0"
IMAGE_NAMES = ("cml-2.9.0-1-x86_64", "cml-2.9.0-2-x86_64", "ubuntu-24.04-server-x86_64")
LACKS = frozenset(
    {
        # moto starts a terminated instance (EC2 refuses: IncorrectInstanceState)
        "refuses starting a terminated instance",
        # moto tags any id (EC2 answers InvalidInstanceID.NotFound)
        "refuses tagging an unknown instance",
    }
)


def aws_config(**overrides: Any) -> AwsConfig:
    """The adapter's configuration for tests: test keys, quick retries."""
    from infrastructure.outside.aws.config import AwsConfig

    settings: dict[str, Any] = {
        "regions": (REGION,),
        "access_key_id": SecretStr("testing"),
        "secret_access_key": SecretStr("testing"),
        "max_attempts": 2,
        "metrics_lookback": timedelta(minutes=15),
    }
    return AwsConfig(**{**settings, **overrides})


@functools.cache
def _shared_session() -> Any:
    import boto3

    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


def adapter_for_tests(**overrides: Any) -> AwsCloud:
    """An adapter on the test keys. It shares one boto3 session with the other tests
    (each new session loads the EC2 service model again: ~0.25 s)."""
    from infrastructure.outside.aws.clients import AwsClients
    from infrastructure.outside.aws.cloud import AwsCloud

    config = aws_config(**overrides)
    return AwsCloud(config, AwsClients(config, session=_shared_session()))


class VirtualTime:
    def __init__(self, clients: AwsClients) -> None:
        self.now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.ec2, self.cloudwatch = clients.ec2(REGION), clients.cloudwatch(REGION)

    def let_pass(self, delta: timedelta) -> None:
        self.now += max(delta, timedelta(hours=1))
        running = self.ec2.describe_instances(
            Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
        )
        ids = sorted(i["InstanceId"] for r in running["Reservations"] for i in r["Instances"])
        for n, instance_id in enumerate(ids):
            self.report(instance_id, cpu=10.0 + n % 80, memory=40.0 if n % 2 else None)

    def report(self, instance_id: str, cpu: float, memory: float | None) -> None:
        data = [("AWS/EC2", "CPUUtilization", cpu), ("CWAgent", "mem_used_percent", memory)]
        for namespace, metric, value in data:
            if value is not None:
                self.cloudwatch.put_metric_data(
                    Namespace=namespace,
                    MetricData=[
                        {
                            "MetricName": metric,
                            "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                            "Timestamp": self.now,
                            "Value": value,
                            "Unit": "Percent",
                        }
                    ],
                )


def harness() -> Iterator[FleetHarness]:
    moto = pytest.importorskip("moto", reason="the AWS contract needs moto (dev dependency)")
    # moto's AMI catalogue is not needed (it launches any AMI id) and costs ~0.5 s a test
    no_amis = mock.patch.dict(os.environ, {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"})
    with no_amis, moto.mock_aws():
        cloud = adapter_for_tests()
        time = VirtualTime(cloud.clients)
        ec2 = cloud.clients.ec2(REGION)
        images = {ec2.register_image(Name=name)["ImageId"]: name for name in IMAGE_NAMES}
        cloud.clients.counter.reset()  # the harness's own calls are not the adapter's
        yield FleetHarness(
            cloud=cloud,
            cml=None,  # type: ignore[arg-type]  # never given to the CML contract (PORTS)
            region=REGION,
            ami_id=AMI_ID,
            let_time_pass=time.let_pass,
            now=lambda: time.now,
            images=images,
            lacks=LACKS,
            broken_region=broken_region,
        )


@contextmanager
def broken_region(region: str, fault: RegionFault) -> Iterator[AwsCloud]:
    """The adapter (on the same moto) with ``region``'s endpoint a real HTTP server on
    127.0.0.1 that fails that way (or a port nobody listens on)."""
    from tests.fakes.broken_endpoint import broken_endpoint

    # A short read timeout only where nothing answers: an endpoint that does answer may
    # take longer than that on a loaded machine (a clean run once read a 403 as a timeout).
    read_timeout = 0.5 if fault is RegionFault.NO_ANSWER else 10.0
    with broken_endpoint(fault) as url:
        yield adapter_for_tests(
            region_endpoint_urls={region: url}, max_attempts=1, read_timeout=read_timeout
        )
