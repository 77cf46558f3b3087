"""The cloud port contract under faults: whatever a region's endpoint does (refuses,
throttles, fails, answers what is not AWS, never answers, does not listen), every call
there raises one of the port's errors, of the kind a caller can act on (transient or
not), and the other region answers as before, at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import uuid4

import pytest

from application.cloud import CloudPort, Launch
from application.ports_errors import (
    CloudError,
    CloudThrottled,
    CloudTimeout,
    CloudTransient,
    CloudUnauthorized,
)
from infrastructure.outside.simulated.world import RegionFault
from tests.contract.conftest import FleetHarness

CONTRACT_PORTS = frozenset({"cloud"})
BAD = "us-east-2"
ID = "i-0123456789abcdef0"
EXPECTED: dict[RegionFault, type[CloudError]] = {
    RegionFault.REFUSED: CloudUnauthorized,
    RegionFault.THROTTLED: CloudThrottled,
    RegionFault.SERVER_ERROR: CloudTransient,
    RegionFault.NOT_AWS: CloudTransient,
    RegionFault.NO_ANSWER: CloudTimeout,
    RegionFault.NOBODY_LISTENING: CloudTransient,
}


def calls(cloud: CloudPort, fleet: FleetHarness) -> dict[str, Callable[[], Awaitable[object]]]:
    now = fleet.now()
    return {
        "describe": lambda: cloud.describe_instances(BAD, [ID]),
        "status": lambda: cloud.status_checks(BAD, [ID]),
        "metrics": lambda: cloud.metrics(BAD, [ID], now),
        "stop": lambda: cloud.stop_instance(BAD, ID),
        "tags": lambda: cloud.set_tags(BAD, ID, {"a": "b"}),
    }


@pytest.mark.parametrize("fault", list(RegionFault), ids=lambda f: f.value)
async def test_a_broken_region_raises_the_ports_errors_while_another_answers(
    fleet: FleetHarness, fault: RegionFault
) -> None:
    assert fleet.broken_region is not None, "every harness can break a region"
    good = await fleet.cloud.run_instance(
        fleet.region,
        Launch(
            instance_type="m5.xlarge", name="good", client_token=str(uuid4()), ami_id=fleet.ami_id
        ),
    )
    with fleet.broken_region(BAD, fault) as cloud:
        bad_calls = calls(cloud, fleet)
        answers = await asyncio.gather(
            *(call() for call in bad_calls.values()),
            cloud.describe_instances(fleet.region, [good]),
            return_exceptions=True,
        )
    *failed, healthy = answers
    for name, answer in zip(bad_calls, failed, strict=True):
        assert isinstance(answer, CloudError), (name, answer)  # never anything else
    describe_error = failed[0]
    assert isinstance(describe_error, EXPECTED[fault])
    assert not isinstance(healthy, BaseException), healthy
    assert [i.instance_id for i in healthy] == [good]
