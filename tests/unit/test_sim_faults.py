"""Latency, errors and timeouts of the simulated network, like a real one's."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from application.cloud import Launch
from application.ports_errors import CloudTimeout, CloudTransient, CmlError, CmlUnreachable
from infrastructure.outside.simulated import SimKnobs, SimulatedCloud, SimulatedCml, SimWorld
from infrastructure.shared.clock import FakeClock

REGION = "eu-west-1"


def world(**knobs: float) -> SimWorld:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return SimWorld(clock, SimKnobs(seed=5, **knobs))  # type: ignore[arg-type]


async def test_with_an_error_rate_some_calls_fail_with_retryable_errors() -> None:
    cloud = SimulatedCloud(world(error_rate=0.3))
    outcomes = []
    for _ in range(200):
        try:
            await cloud.describe_instances(REGION)
            outcomes.append("ok")
        except CloudTransient:
            outcomes.append("failed")
    assert 0.2 < outcomes.count("failed") / len(outcomes) < 0.4


async def test_a_timeout_may_come_after_the_launch_and_a_retry_with_the_token_finds_it() -> None:
    sim = world(timeout_rate=1.0)
    cloud = SimulatedCloud(sim)
    timed_out = 0
    for n in range(20):
        try:
            await cloud.run_instance(
                REGION,
                Launch(instance_type="m5.xlarge", name="w", client_token=f"op-{n}", ami_id="a"),
            )
        except CloudTimeout:
            timed_out += 1
    launched = set(sim.token_launches)
    assert timed_out == 20
    assert 0 < len(launched) < 20  # some took effect before the timeout, some did not
    sim.knobs.timeout_rate = 0.0
    for n in range(20):
        await cloud.run_instance(
            REGION, Launch(instance_type="m5.xlarge", name="w", client_token=f"op-{n}", ami_id="a")
        )
    assert all(count == 1 for count in sim.token_launches.values())
    assert len(await cloud.describe_instances(REGION)) == 20


async def test_cml_faults_are_errors_and_timeouts() -> None:
    sim = world(error_rate=0.5, timeout_rate=0.5)
    cml = SimulatedCml(sim)
    kinds = set()
    for _ in range(50):
        with pytest.raises(CmlError) as failure:
            await cml.system_information("10.0.0.1")
        kinds.add(type(failure.value))
    assert kinds == {CmlError, CmlUnreachable}


async def test_latency_is_spent_on_the_event_loop_per_call() -> None:
    cloud = SimulatedCloud(world(latency_ms=20))
    started = time.perf_counter()
    await cloud.describe_instances(REGION)
    assert time.perf_counter() - started >= 0.019
