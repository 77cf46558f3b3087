"""When workers fail: GETs are retried, other calls are not; a worker that does not
answer opens its circuit, so later calls fail fast without touching the network."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from application.jobs.probe import probe_cml
from application.ports_errors import CmlError, CmlUnreachable
from infrastructure.outside.cml_http import BreakerState, CmlTransport, HttpCml
from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.shared.clock import FakeClock
from tests.fakes import ready_worker
from tests.fakes.cml_rig import TEST_CONFIG, Rig
from tests.fakes.cml_server import FakeCml
from tests.fakes.serving import closed_port

COOLDOWN = timedelta(seconds=60)


@pytest.fixture
def rig(clock: FakeClock) -> Iterator[Rig]:
    world = SimWorld(clock, SimKnobs(seed=11, busy_fraction=0.0))
    host = ready_worker(world, clock)
    with FakeCml(world) as fake:
        yield Rig(clock, world, fake, host)
        fake.release()
        assert fake.violations == []


@pytest.fixture
async def cml(rig: Rig) -> AsyncIterator[HttpCml]:
    client = rig.client(retries=2, breaker_failures=3, breaker_cooldown_seconds=60)
    yield client
    await client.aclose()


async def test_a_get_is_retried_through_brief_server_errors(rig: Rig, cml: HttpCml) -> None:
    await cml.system_health(rig.host)  # logged in
    rig.fake.fail_next(2, status=503)

    health = await cml.system_health(rig.host)

    assert health.valid
    assert rig.fake.count("GET /system_health") == 1 + 3


async def test_a_get_that_keeps_failing_reports_the_status(rig: Rig, cml: HttpCml) -> None:
    await cml.system_health(rig.host)
    rig.fake.fail_next(3, status=502)

    with pytest.raises(CmlError) as failed:
        await cml.licensing(rig.host)

    assert failed.value.status == 502 and not isinstance(failed.value, CmlUnreachable)
    assert rig.fake.count("GET /licensing") == 3


async def test_a_registration_is_never_retried(rig: Rig, cml: HttpCml) -> None:
    await cml.licensing(rig.host)
    rig.fake.fail_next(1, status=503)

    with pytest.raises(CmlError) as failed:
        await cml.register_license(rig.host, "c2VjcmV0LXRva2Vu")

    assert failed.value.status == 503
    assert rig.fake.count("POST /licensing/registration") == 1


async def test_a_worker_that_does_not_answer_opens_its_circuit_then_fails_fast(
    rig: Rig, cml: HttpCml
) -> None:
    await probe_cml(cml, rig.host)
    rig.fake.unreachable.add(rig.host)

    reasons = set()
    for _ in range(5):  # five metrics cycles
        with pytest.raises(CmlUnreachable) as down:
            await probe_cml(cml, rig.host)
        reasons.add(down.value.reason)

    assert cml.calls["GET /system_information"] == 1 + 3  # one cycle's attempts, then none
    assert len(reasons) == 1  # the same reason every cycle: nothing new to record
    assert cml.transport.fast_failures[rig.host] == 4
    assert cml.breaker_state(rig.host) is BreakerState.OPEN


async def test_after_the_cooldown_one_trial_call_closes_or_reopens_the_circuit(
    rig: Rig, cml: HttpCml
) -> None:
    rig.fake.unreachable.add(rig.host)
    with pytest.raises(CmlUnreachable):
        await cml.system_information(rig.host)
    assert cml.breaker_state(rig.host) is BreakerState.OPEN

    rig.clock.advance(COOLDOWN)
    assert cml.breaker_state(rig.host) is BreakerState.HALF_OPEN
    with pytest.raises(CmlUnreachable):
        await cml.system_information(rig.host)
    assert cml.calls["GET /system_information"] == 3 + 1  # the trial only, no retries
    assert cml.breaker_state(rig.host) is BreakerState.OPEN

    rig.clock.advance(COOLDOWN)
    rig.fake.unreachable.discard(rig.host)
    assert (await cml.system_information(rig.host)).ready
    assert cml.breaker_state(rig.host) is BreakerState.CLOSED


async def test_one_unreachable_worker_does_not_trip_another(rig: Rig, cml: HttpCml) -> None:
    other = ready_worker(rig.world, rig.clock)
    rig.fake.unreachable.add(rig.host)
    for _ in range(3):
        with pytest.raises(CmlUnreachable):
            await cml.system_stats(rig.host)

    assert (await cml.system_stats(other)).cpu_percent is not None
    assert cml.breaker_state(other) is BreakerState.CLOSED


async def test_a_worker_that_hangs_times_out_once_without_retries(rig: Rig) -> None:
    slow = rig.client(timeout_seconds=0.2)
    rig.fake.hang_next(1)
    try:
        with pytest.raises(CmlUnreachable) as hung:
            await slow.system_information(rig.host)
    finally:
        rig.fake.release()
        await slow.aclose()

    assert "no answer in time" in str(hung.value)
    assert slow.calls["GET /system_information"] == 1


async def test_a_closed_port_fails_fast_not_after_the_timeout(clock: FakeClock) -> None:
    config = replace(TEST_CONFIG, port=closed_port(), timeout_seconds=30)
    cml = HttpCml(CmlTransport(config, clock))  # the default URL: http://127.0.0.1:{port}/api/v0
    started = time.monotonic()
    try:
        with pytest.raises(CmlUnreachable) as refused:
            await cml.system_information("127.0.0.1")
    finally:
        await cml.aclose()

    assert time.monotonic() - started < 5  # refused at once, retried twice, well under 30 s
    assert "cannot connect" in str(refused.value)
    assert cml.calls["GET /system_information"] == 3


async def test_the_least_recently_used_workers_are_closed_beyond_the_limit(rig: Rig) -> None:
    other = ready_worker(rig.world, rig.clock)
    cml = rig.client(max_hosts=1)
    try:
        await cml.system_stats(rig.host)
        await cml.system_stats(other)  # closes the first worker's pool, forgets its token
        await cml.system_stats(rig.host)
    finally:
        await cml.aclose()

    assert rig.fake.logins[rig.host] == 2 and rig.fake.logins[other] == 1
