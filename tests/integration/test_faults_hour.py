"""A simulated hour of a bad network: EC2, CloudWatch and every worker's CML fail 30 %
of the calls and time out on others. The metrics and idle jobs keep cycling, each
cycle finishing in bounded time; the failing workers show as unreachable (with the
reason) in the API's view and in ``/metrics``; when the faults stop, all recover."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.http.metrics_endpoint import FleetMetrics
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from infrastructure.wiring.builders import build_idle_job
from tests.jobs_fleet import JobsFleet

MINUTE = timedelta(minutes=1)
WORKERS = 12
CYCLE_BOUND_SECONDS = 10.0  # wall time; a cycle on this fleet takes well under a second


@pytest.fixture
async def fleet(tmp_path: Path, clock: FakeClock) -> AsyncIterator[JobsFleet]:
    settings = Settings(
        data_dir=tmp_path,
        demo_workers=0,
        scheduler_enabled=False,
        operations_enabled=False,
        snapshot_every_n_cycles=1000,
    )
    system = bootstrap(settings, clock=clock)
    await system.start()
    try:
        yield JobsFleet(system)
    finally:
        await system.stop()


def failing_in_metrics(fleet: JobsFleet) -> set[str]:
    text = FleetMetrics(fleet.system).exposition().decode()
    return {
        sample.labels["worker_id"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "cml_fleet_worker_failing"
        and sample.labels["reason"] == "service_unreachable"
    }


async def bounded_minute(fleet: JobsFleet, idle: object) -> tuple[int, tuple[str, ...]]:
    """One simulated minute: a metrics cycle then an idle cycle, each in bounded time."""
    async with asyncio.timeout(CYCLE_BOUND_SECONDS):
        report = await fleet.cycle(after=MINUTE)
    async with asyncio.timeout(CYCLE_BOUND_SECONDS):
        await idle.run(fleet.clock.now())  # type: ignore[attr-defined]
    return report.failures, report.failed_workers


async def test_an_hour_of_faults_then_recovery(fleet: JobsFleet) -> None:
    workers = [fleet.add(f"lab-{n}", busy=True) for n in range(WORKERS)]
    idle = build_idle_job(fleet.system)
    await fleet.cycle()
    fleet.knobs(error_rate=0.3, timeout_rate=0.1)

    failed_at_least_once: Counter[str] = Counter()
    for _ in range(60):
        failures, failed_workers = await bounded_minute(fleet, idle)
        failed_at_least_once.update(failed_workers)
        await fleet.caught_up()
        shown = failing_in_metrics(fleet)
        for worker_id in failed_workers:
            dto = await fleet.worker(worker_id)
            assert dto.service_status == "unreachable" and dto.service_detail
            assert worker_id in shown
    assert sum(failed_at_least_once.values()) > 0
    assert len(failed_at_least_once) > WORKERS // 2  # faults hit much of the fleet

    fleet.knobs(error_rate=0.0, timeout_rate=0.0)
    for _ in range(30):  # back-off is capped at 15 minutes
        failures, _ = await bounded_minute(fleet, idle)
    await fleet.caught_up()
    assert failures == 0
    assert {(await fleet.worker(w)).service_status for w in workers} == {"ready"}
    assert failing_in_metrics(fleet) == set()
