"""As an operator runs it: ``cml-fleet serve`` (a real process, default log level) on
AWS as a ``moto_server`` process serves it, with one healthy region and one whose
endpoint breaks (it answers an HTML 500 page, as moto does for a region it does not
serve, or a proxy in trouble). The healthy region's workers keep cycling and reach
EC2's true state; the broken region is reported; an admin releases its worker; the
log says so once, not every cycle.

Every wait polls with a bounded deadline; nothing sleeps for timing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.moto import KEYS, BreakableProxy, moto_server
from tests.integration.test_crash_kill9 import ServerProcess, poll

pytest.importorskip("moto.server", reason="needs moto[server] (dev dependency)")
import boto3

HEALTHY, BROKEN = "us-east-1", "eu-west-1"
AMI = "ami-0123456789abcdef0"
WAIT = 60.0


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[str, BreakableProxy]]:
    with moto_server() as url, BreakableProxy(url) as proxy:
        yield url, proxy


def console(url: str, region: str) -> Any:
    """The operator's own boto3 client (the "AWS console"), straight to moto."""
    return boto3.client("ec2", region_name=region, endpoint_url=url, **KEYS)


def launch(url: str, region: str, name: str) -> str:
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
    answer = console(url, region).run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="m5.xlarge", TagSpecifications=tags
    )
    return str(answer["Instances"][0]["InstanceId"])


def serve(tmp_path: Path, url: str, proxy: BreakableProxy) -> ServerProcess:
    settings = {
        "cloud": "aws",
        "aws_regions": json.dumps([HEALTHY, BROKEN]),
        "aws_endpoint_url": url,
        "aws_region_endpoint_urls": json.dumps({BROKEN: proxy.url}),
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_max_attempts": "1",
        "demo_workers": "0",
        "scheduler_enabled": "true",
        "metrics_interval_seconds": "1",
        "job_backoff_max_seconds": "2",
        "operations_retry_attempts": "2",
        "operations_retry_base_seconds": "0.1",
        "sim_latency_ms": "0",
        "log_level": "info",  # the default, said out loud
    }
    return ServerProcess(tmp_path / "data", tmp_path / "server.log", **settings)


def test_a_broken_region_never_stalls_the_healthy_one_and_its_worker_can_be_released(
    aws: tuple[str, BreakableProxy], tmp_path: Path
) -> None:
    url, proxy = aws
    healthy_instance = launch(url, HEALTHY, "healthy-lab")
    broken_instance = launch(url, BROKEN, "broken-lab")
    server = serve(tmp_path, url, proxy)
    try:
        admin = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.url, headers=admin, timeout=30) as http:
            imports = [
                http.post("/api/workers/import", json={"instance_id": i, "region": r})
                for i, r in ((healthy_instance, HEALTHY), (broken_instance, BROKEN))
            ]
            assert [a.status_code for a in imports] == [200, 200], [a.text for a in imports]
            healthy, broken = (a.json()["worker_id"] for a in imports)

            proxy.break_()
            console(url, HEALTHY).stop_instances(InstanceIds=[healthy_instance])

            def status(worker_id: str, after: int = 0) -> str:
                answer = http.get(f"/api/workers/{worker_id}?min_position={after}")
                return str(answer.json()["status"])

            poll(lambda: status(healthy) == "stopped", "the healthy worker to be stopped", WAIT)

            def degraded() -> dict[str, Any] | None:
                body: dict[str, Any] = httpx.get(f"{server.url}/readyz").json()
                return body if body["status"] == "degraded" else None

            ready = poll(degraded, "/readyz to report the broken region", WAIT)
            assert [p["check"] for p in ready["problems"]] == [f"region:{BROKEN}"]
            assert "Unparseable" in ready["problems"][0]["detail"]
            metrics = http.get("/metrics").text
            assert f'cml_fleet_health_problem{{check="region:{BROKEN}"}} 1.0' in metrics
            looks = re.search(
                rf'cml_fleet_region_failing_looks{{region="{BROKEN}"}} (\S+)', metrics
            )
            assert looks is not None and float(looks.group(1)) >= 3  # unhealthy after 3

            # Its worker cannot be terminated (EC2 there does not answer): an admin releases it.
            assert http.post(f"/api/workers/{broken}/terminate").status_code == 202
            poll(lambda: status(broken) != "terminating", "the terminate to give up", WAIT)
            released = http.post(f"/api/workers/{broken}/release", json={"reason": "region down"})
            assert released.status_code == 200, released.text
            assert status(broken, after=released.json()["position"]) == "released"
            poll(lambda: httpx.get(f"{server.url}/readyz").json()["status"] == "ready",
                 "the released region to be no longer watched", WAIT)  # fmt: skip

            # The healthy region kept cycling all along: started again, it is seen running.
            console(url, HEALTHY).start_instances(InstanceIds=[healthy_instance])
            poll(lambda: status(healthy) == "running", "the healthy worker to run again", WAIT)
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    failing = [line for line in log.splitlines() if f"EC2/CloudWatch in {BROKEN} failing" in line]
    assert len(failing) == 1, failing  # logged once, not every cycle
    assert log.count("Traceback") <= 1
