"""Pointed at an EC2/CloudWatch endpoint by settings alone (``moto_server`` on
127.0.0.1 standing in for AWS), cml-fleet finds the CML workers, starts and stops
them, and reads their metrics."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings

pytest.importorskip("moto.server", reason="needs moto[server] (dev dependency)")
import boto3

from infrastructure.aws.cloud import AwsCloud

REGION = "eu-west-1"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_line(stream: Any, marker: str, timeout: float) -> threading.Thread:
    """Block until the server prints ``marker`` (read in a thread, bounded wait); the
    reader goes on draining the stream until it closes."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True)
    reader.start()
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while (left := (deadline - datetime.now(UTC)).total_seconds()) > 0:
        try:
            if marker in lines.get(timeout=left):
                return reader
        except queue.Empty:
            break
    raise TimeoutError(f"moto_server did not print {marker!r} within {timeout} s")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"},
    )
    reader = None
    try:
        reader = wait_for_line(server.stderr, "Running on", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        if reader is not None:
            reader.join(timeout=10)
        assert server.stderr is not None
        server.stderr.close()


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
