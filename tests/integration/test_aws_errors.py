"""What the AWS adapter reports when AWS says no, is slow, or is not there.

AWS's error answers are played with botocore's ``Stubber`` (recorded answers, no
network); connection failures are real sockets on 127.0.0.1.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from application.ports_errors import (
    CloudConflict,
    CloudError,
    CloudNotFound,
    CloudThrottled,
    CloudTimeout,
    CloudTransient,
    CloudUnauthorized,
    CloudUnexpected,
)
from tests.contract.aws_moto import adapter_for_tests, aws_config

pytest.importorskip("boto3", reason="the AWS adapter needs boto3")
from botocore.stub import Stubber

from infrastructure.outside.aws.cloud import AwsCloud

EU = "eu-west-1"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def adapter(**config: object) -> AwsCloud:
    return adapter_for_tests(**config)


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("InvalidInstanceID.NotFound", 400, CloudNotFound),
        ("RequestLimitExceeded", 503, CloudThrottled),
        ("Throttling", 400, CloudThrottled),
        ("AuthFailure", 401, CloudUnauthorized),
        ("UnauthorizedOperation", 403, CloudUnauthorized),
        ("IncorrectInstanceState", 400, CloudConflict),
        ("InternalError", 500, CloudTransient),
        ("SomethingNewOnTheServer", 503, CloudTransient),
        ("SomethingNewAndSlowDown", 429, CloudThrottled),
        ("InvalidParameterValue", 400, CloudError),
    ],
)
async def test_aws_error_answers_become_the_ports_errors(
    code: str, status: int, kind: type[CloudError]
) -> None:
    cloud = adapter()
    with Stubber(cloud.clients.ec2(EU)) as aws:
        aws.add_client_error("start_instances", code, "no", http_status_code=status)
        with pytest.raises(CloudError) as raised:
            await cloud.start_instance(EU, "i-0123456789abcdef0")
    assert type(raised.value) is kind
    assert raised.value.code == code


async def test_an_endpoint_nobody_listens_on_is_a_transient_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cloud = adapter(endpoint_url=f"http://127.0.0.1:{closed}", max_attempts=1)
    with pytest.raises(CloudTransient) as raised:
        await cloud.describe_instances(EU)
    assert type(raised.value) is CloudTransient


async def test_an_endpoint_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody ever answers
        port = silent.getsockname()[1]
        cloud = adapter(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, read_timeout=0.3)
        with pytest.raises(CloudTimeout):
            await cloud.stop_instance(EU, "i-0123456789abcdef0")


class Throttling(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
            b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
            b"</Error></Errors><RequestID>r-1</RequestID></Response>"
        )
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def test_throttling_is_retried_by_botocore_then_reported(throttling_endpoint: str) -> None:
    cloud = adapter(endpoint_url=throttling_endpoint, max_attempts=2)
    with pytest.raises(CloudThrottled):
        await cloud.describe_instances(EU, ["i-0123456789abcdef0"])
    assert cloud.calls() == {"ec2:DescribeInstances": 1}
    assert cloud.retries() == {"ec2:DescribeInstances": 1}


async def test_an_unknown_profile_is_unauthorized(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/credentials")
    cloud = AwsCloud(aws_config(access_key_id=None, secret_access_key=None, profile="nobody"))
    with pytest.raises(CloudUnauthorized):
        await cloud.describe_instances(EU)


async def test_no_credentials_anywhere_is_unauthorized(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    cloud = AwsCloud(aws_config(access_key_id=None, secret_access_key=None))
    with pytest.raises(CloudUnauthorized):
        await cloud.status_checks(EU, ["i-0123456789abcdef0"])


async def test_the_secret_key_is_never_logged_nor_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="infrastructure.outside.aws")
    cloud = adapter(secret_access_key=SecretStr(SECRET))
    with Stubber(cloud.clients.ec2(EU)) as aws:
        aws.add_client_error("stop_instances", "AuthFailure", "AWS was not able to validate")
        with pytest.raises(CloudUnauthorized) as raised:
            await cloud.stop_instance(EU, "i-0123456789abcdef0")
    assert "explicit access key" in caplog.text
    for shown in (caplog.text, str(raised.value), repr(cloud.config)):
        assert SECRET not in shown


async def test_the_newest_datapoint_wins_across_pages() -> None:
    cloud = adapter(memory_metric=False)
    minute = timedelta(minutes=1)
    with Stubber(cloud.clients.cloudwatch(EU)) as aws:
        aws.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "c0", "Timestamps": [NOW - 3 * minute], "Values": [30.0]},
                    {"Id": "c1", "Timestamps": [NOW - minute], "Values": [11.0]},
                ],
                "NextToken": "page-2",
            },
        )
        aws.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "c0",
                        "Timestamps": [NOW + minute, NOW - minute],
                        "Values": [99.0, 20.0],
                    },
                    {"Id": "c1", "Timestamps": [NOW - 5 * minute], "Values": [15.0]},
                ]
            },
        )
        samples = await cloud.metrics(EU, ["i-a", "i-b"], NOW)
        aws.assert_no_pending_responses()
    assert samples["i-a"].cpu_percent == 20.0 and samples["i-a"].at == NOW - minute
    assert samples["i-b"].cpu_percent == 11.0
    assert cloud.calls() == {"cloudwatch:GetMetricData": 2}


def status(instance_id: str, state: str = "running") -> dict[str, object]:
    return {
        "InstanceId": instance_id,
        "InstanceState": {"Code": 16, "Name": state},
        "SystemStatus": {"Status": "ok"},
        "InstanceStatus": {"Status": "initializing"},
    }


async def test_unknown_ids_are_found_by_halving_when_aws_does_not_name_them() -> None:
    cloud = adapter()
    gone = "does not exist"
    with Stubber(cloud.clients.ec2(EU)) as aws:
        aws.add_client_error("describe_instance_status", "InvalidInstanceID.NotFound", gone)
        aws.add_response("describe_instance_status", {"InstanceStatuses": [status("i-1")]})
        aws.add_client_error("describe_instance_status", "InvalidInstanceID.NotFound", gone)
        aws.add_response("describe_instance_status", {"InstanceStatuses": [status("i-2")]})
        aws.add_client_error("describe_instance_status", "InvalidInstanceID.NotFound", gone)
        checks = await cloud.status_checks(EU, ["i-1", "i-2", "i-3"])
        aws.assert_no_pending_responses()
    assert sorted(checks) == ["i-1", "i-2"]
    assert checks["i-1"].instance_status == "initializing"


async def test_detailed_monitoring_can_be_turned_on_for_existing_workers() -> None:
    cloud = adapter()
    with Stubber(cloud.clients.ec2(EU)) as aws:
        aws.add_response(
            "monitor_instances",
            {"InstanceMonitorings": [{"InstanceId": "i-1", "Monitoring": {"State": "pending"}}]},
            {"InstanceIds": ["i-1"]},
        )
        assert await cloud.monitor_instances(EU, ["i-1"]) == {"i-1": "pending"}


class NotAws(BaseHTTPRequestHandler):
    """An endpoint that answers, but not as AWS does: a proxy's HTML error page (what
    moto_server answers for a region it does not know), garbage, or an empty body."""

    answers: dict[str, tuple[int, bytes]] = {
        "html-500": (500, b"<!doctype html><html><h1>Internal Server Error</h1></html>"),
        "html-200": (200, b"<html><body>Welcome to nginx!</body></html>"),
        "garbage-200": (200, b"\x00\x01 not xml at all {"),
        "empty-502": (502, b""),
    }
    kind = "html-500"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status, body = self.answers[self.kind]
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_aws() -> Iterator[tuple[str, type[NotAws]]]:
    handler = type("Handler", (NotAws,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("kind", sorted(NotAws.answers))
@pytest.mark.parametrize("call", ["describe", "status", "metrics", "stop"])
async def test_an_answer_that_is_not_aws_becomes_a_port_error(
    not_aws: tuple[str, type[NotAws]], kind: str, call: str
) -> None:
    url, handler = not_aws
    handler.kind = kind
    cloud = adapter(endpoint_url=url, max_attempts=1)
    calls = {
        "describe": lambda: cloud.describe_instances(EU, ["i-0123456789abcdef0"]),
        "status": lambda: cloud.status_checks(EU, ["i-0123456789abcdef0"]),
        "metrics": lambda: cloud.metrics(EU, ["i-0123456789abcdef0"], NOW),
        "stop": lambda: cloud.stop_instance(EU, "i-0123456789abcdef0"),
    }
    with pytest.raises(CloudError) as raised:
        await calls[call]()
    assert raised.value.__cause__ is not None  # what botocore said, kept for the log


async def test_an_html_error_page_is_a_transient_error(not_aws: tuple[str, type[NotAws]]) -> None:
    url, handler = not_aws
    handler.kind = "html-500"
    cloud = adapter(endpoint_url=url, max_attempts=1)
    with pytest.raises(CloudTransient):
        await cloud.describe_instances(EU, ["i-0123456789abcdef0"])


async def test_an_answer_the_adapter_cannot_read_is_unexpected_not_a_crash() -> None:
    cloud = adapter()
    with Stubber(cloud.clients.ec2(EU)) as aws:  # an instance without its State
        instance = {"InstanceId": "i-0123456789abcdef0", "InstanceType": "m5.xlarge"}
        aws.add_response("describe_instances", {"Reservations": [{"Instances": [instance]}]})
        with pytest.raises(CloudUnexpected) as raised:
            await cloud.describe_instances(EU)
    assert "KeyError" in str(raised.value)


async def test_one_regions_endpoint_can_be_its_own(not_aws: tuple[str, type[NotAws]]) -> None:
    url, handler = not_aws
    handler.kind = "html-500"
    cloud = adapter(region_endpoint_urls={"us-east-2": url}, max_attempts=1)
    with Stubber(cloud.clients.ec2(EU)) as aws:
        aws.add_response("describe_instances", {"Reservations": []})
        assert await cloud.describe_instances(EU, ["i-0123456789abcdef0"]) == ()
    with pytest.raises(CloudTransient):
        await cloud.describe_instances("us-east-2", ["i-0123456789abcdef0"])


async def test_the_regions_ec2_has_are_known_without_a_call() -> None:
    cloud = adapter(regions=("eu-west-1", "xx-future-1"))
    known = await cloud.known_regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"} <= known
    assert "xx-future-1" in known  # configured: newer than this botocore
    assert "us-east-9" not in known
    assert cloud.calls() == {}
