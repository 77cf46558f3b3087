"""One region in trouble never stalls the fleet: whatever its EC2/CloudWatch calls do
(refuse, throttle, time out, answer garbage, raise what no adapter should, hang), the
other regions' workers keep reaching EC2's true state, every cycle ends, and the
region in trouble is backed off, reported once, and named unhealthy."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from application.cloud import CloudMetrics, InstanceInfo, StatusCheck
from application.jobs.observe import host_of
from application.ports_errors import (
    CloudThrottled,
    CloudTimeout,
    CloudTransient,
    CloudUnauthorized,
    CloudUnexpected,
)
from infrastructure.outside.simulated import SimulatedCloud, SimWorld
from infrastructure.running.health import problems
from infrastructure.shared.clock import FakeClock
from tests.jobs_fleet import JobsFleet, started_fleet

HEALTHY, BROKEN = "us-east-1", "eu-west-1"
CYCLE = timedelta(minutes=1)
Fault = Callable[[], BaseException] | None  # None: the call hangs


class RegionInTrouble(SimulatedCloud):
    """The simulated EC2, with one region whose reads fail in a given way (or hang)."""

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.region: str | None = None
        self.fault: Fault = None
        self.asked: Counter[str] = Counter()

    def break_region(self, region: str, fault: Fault) -> None:
        self.region, self.fault = region, fault

    def mend(self) -> None:
        self.region = None

    async def _trouble(self, region: str) -> None:
        self.asked[region] += 1
        if region != self.region:
            return
        if self.fault is None:
            await asyncio.Event().wait()  # hangs until cancelled
        raise self.fault()

    async def describe_instances(
        self,
        region: str,
        instance_ids: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[InstanceInfo, ...]:
        await self._trouble(region)
        return await super().describe_instances(region, instance_ids, filters)

    async def status_checks(
        self, region: str, instance_ids: Sequence[str]
    ) -> dict[str, StatusCheck]:
        await self._trouble(region)
        return await super().status_checks(region, instance_ids)

    async def metrics(
        self, region: str, instance_ids: Sequence[str], now: datetime
    ) -> dict[str, CloudMetrics]:
        await self._trouble(region)
        return await super().metrics(region, instance_ids, now)


FAULTS: dict[str, Fault] = {
    # the port's errors, as an adapter raises them
    "refused": lambda: CloudUnauthorized("denied", code="UnauthorizedOperation"),
    "throttled": lambda: CloudThrottled("slow down", code="RequestLimitExceeded"),
    "server error": lambda: CloudTransient("HTTP 500", code="InternalError"),
    "timed out": lambda: CloudTimeout("read timeout"),
    "not an AWS answer": lambda: CloudTransient("HTML", code="Unparseable"),
    "unknown to the adapter": lambda: CloudUnexpected("KeyError: 'State'", code="Unexpected"),
    # what no adapter should let through, and still must not stop the job
    "a bug (ValueError)": lambda: ValueError("boom"),
    "a bug (KeyError)": lambda: KeyError("Reservations"),
    "a library error": lambda: RuntimeError("ResponseParserError-like"),
    "hangs": None,
}


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[JobsFleet]:
    # a hanging region is cut off after 0.2 s
    async with started_fleet(clock, RegionInTrouble, job_region_timeout_seconds=0.2) as fleet:
        yield fleet


def cloud_of(fleet: JobsFleet) -> RegionInTrouble:
    assert isinstance(fleet.cloud, RegionInTrouble)
    return fleet.cloud


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_a_region_failing_in_any_way_never_stalls_the_others(
    fleet: JobsFleet, fault: Fault
) -> None:
    healthy, broken = fleet.add("healthy", region=HEALTHY), fleet.add("broken", region=BROKEN)
    await fleet.cycle()
    cloud_of(fleet).break_region(BROKEN, fault)
    fleet.cloud.console_stop(fleet.instances[healthy])
    fleet.cloud.console_stop(fleet.instances[broken])

    reports = [await fleet.cycle(after=CYCLE) for _ in range(4)]

    assert (await fleet.worker(healthy)).status == "stopped"  # EC2's truth, reached
    assert (await fleet.worker(broken)).status == "running"  # last known; not made up
    assert reports[0].region_failures == (BROKEN,)
    assert all(HEALTHY not in r.region_failures for r in reports)


async def test_a_region_that_keeps_failing_is_backed_off_reported_and_recovers(
    fleet: JobsFleet,
) -> None:
    fleet.add("healthy", region=HEALTHY)
    fleet.add("broken", region=BROKEN)
    cloud = cloud_of(fleet)
    cloud.break_region(BROKEN, FAULTS["not an AWS answer"])

    reports = [await fleet.cycle(after=CYCLE) for _ in range(12)]

    # asked every cycle while healthy; less and less often while failing
    assert cloud.asked[HEALTHY] == 3 * 12
    assert cloud.asked[BROKEN] < 3 * 6
    assert any(BROKEN in r.regions_backed_off for r in reports)
    state = fleet.job.regions.state(BROKEN)
    assert state.unhealthy and state.failures >= 3
    assert state.failing == tuple(
        f"{call}: CloudTransient (Unparseable)" for call in ("describe", "status", "metrics")
    )
    watched = replace(fleet.system, region_health=fleet.job.regions)  # the test's own job
    assert [p.check for p in problems(watched)] == [f"region:{BROKEN}"]

    cloud.mend()
    for _ in range(20):  # bounded: the back-off is at most 15 cycles here
        await fleet.cycle(after=CYCLE)
        if fleet.job.regions.state(BROKEN).failures == 0:
            break
    assert not fleet.job.regions.state(BROKEN).unhealthy
    assert problems(replace(fleet.system, region_health=fleet.job.regions)) == []


async def test_an_unexpected_error_is_logged_once_with_its_traceback_not_every_cycle(
    fleet: JobsFleet, caplog: pytest.LogCaptureFixture
) -> None:
    fleet.add("broken", region=BROKEN)
    cloud_of(fleet).break_region(BROKEN, FAULTS["a bug (KeyError)"])
    caplog.set_level(logging.INFO, logger="application.jobs.metrics")

    reports = [await fleet.cycle(after=CYCLE * 20) for _ in range(5)]  # past every back-off

    about_region = [r for r in caplog.records if BROKEN in r.getMessage()]
    assert len(about_region) == 1
    assert about_region[0].levelno == logging.ERROR and about_region[0].exc_info is not None
    assert about_region[0].correlation_id == reports[0].correlation_id  # type: ignore[attr-defined]
    assert all(r.region_failures == (BROKEN,) for r in reports)


async def test_a_probe_failing_unexpectedly_stays_with_its_worker(
    fleet: JobsFleet, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    sick, well = fleet.add("sick", region=HEALTHY), fleet.add("well", region=HEALTHY)
    await fleet.cycle()
    dto = await fleet.worker(sick)
    host = host_of(dto.public_dns, dto.public_ip, dto.private_ip)
    real = fleet.job.sync.observer.cml.system_information

    async def broken_for_one(h: str) -> Any:
        if h == host:
            raise AttributeError("'NoneType' object has no attribute 'json'")
        return await real(h)

    monkeypatch.setattr(fleet.job.sync.observer.cml, "system_information", broken_for_one)
    fleet.cloud.console_stop(fleet.instances[well])
    caplog.set_level(logging.ERROR)

    for _ in range(3):
        await fleet.cycle(after=CYCLE * 20)

    sick_dto = await fleet.worker(sick)
    assert (sick_dto.service_status, sick_dto.service_detail) == (
        "unreachable",
        "CML API: unexpected error (AttributeError)",
    )
    assert (await fleet.worker(well)).status == "stopped"
    assert len([r for r in caplog.records if sick in r.getMessage()]) == 1
