"""The metrics job on a small simulated fleet: it fills in what it sees, records only
what changed, survives faults and keeps the event log small."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from tests.jobs_fleet import JobsFleet

MINUTE = timedelta(minutes=1)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "persistence": "memory",
        "scheduler_enabled": False,
        "demo_workers": 0,
        "metrics_interval_seconds": 60.0,
        "snapshot_every_n_cycles": 1000,
    }
    return Settings(**(base | overrides))


@pytest.fixture
async def fleet(clock: FakeClock, request: pytest.FixtureRequest) -> AsyncIterator[JobsFleet]:
    overrides = getattr(request, "param", {})
    system = bootstrap(settings(**overrides), clock=clock)
    await system.start()
    try:
        yield JobsFleet(system)
    finally:
        await system.stop()


async def test_a_first_cycle_fills_in_each_worker_and_an_unchanged_one_records_nothing(
    fleet: JobsFleet,
) -> None:
    running = [fleet.add(f"lab-{n}") for n in range(3)]
    running.append(fleet.add("classroom", busy=True, age=timedelta(hours=4)))
    stopped = fleet.add("asleep", stopped=True)

    first = await fleet.cycle()
    assert (first.workers, first.failures, first.probed) == (5, 0, 4)
    for worker_id in running:
        dto = await fleet.worker(worker_id)
        assert (dto.status, dto.service_status) == ("running", "ready")
        assert dto.cml_version and dto.cml_ready and dto.labs_count is not None
        assert dto.cpu_percent is not None and dto.ec2_system_status == "ok"
        assert dto.public_ip and dto.metrics_recorded_at
    asleep = await fleet.worker(stopped)
    assert (asleep.status, asleep.service_status, asleep.cpu_percent) == (
        "stopped",
        "unknown",
        None,
    )

    logged = fleet.events()
    second = await fleet.cycle()
    assert second.changes_recorded == 0 and fleet.events() == logged


async def test_a_cycle_runs_as_the_metrics_job_with_one_correlation_id(fleet: JobsFleet) -> None:
    a, b = fleet.add("a"), fleet.add("b")
    report = await fleet.cycle()
    for worker_id in (a, b):
        dto = await fleet.worker(worker_id)
        assert (dto.last_actor, dto.last_correlation_id) == ("job:metrics", report.correlation_id)


async def test_a_stop_done_in_the_aws_console_shows_up_on_the_next_cycle(
    fleet: JobsFleet,
) -> None:
    worker_id = fleet.add("lab")
    await fleet.cycle()
    fleet.cloud.console_stop(fleet.instances[worker_id])
    await fleet.cycle(after=2 * MINUTE)
    dto = await fleet.worker(worker_id)
    assert (dto.status, dto.service_status, dto.service_detail) == (
        "stopped",
        "unknown",
        "instance stopped",
    )
    assert dto.cpu_percent is None and dto.public_ip is None


async def test_with_injected_faults_the_cycle_completes_records_failures_and_recovers(
    fleet: JobsFleet,
) -> None:
    workers = [fleet.add(f"lab-{n}") for n in range(8)]
    await fleet.cycle()
    fleet.knobs(error_rate=0.3)

    faulty = await fleet.cycle(after=MINUTE)
    assert faulty.workers == 8 and 0 < faulty.failures <= 8
    for worker_id in faulty.failed_workers:
        dto = await fleet.worker(worker_id)
        assert dto.service_status == "unreachable"
        assert dto.service_detail and dto.service_detail.startswith("CML API")

    fleet.knobs(error_rate=0.0)
    for _ in range(6):  # back-off is capped at 15 minutes
        report = await fleet.cycle(after=5 * MINUTE)
    assert report.failures == 0 and report.region_failures == ()
    assert {(await fleet.worker(w)).service_status for w in workers} == {"ready"}


async def test_a_failing_worker_is_left_alone_until_its_back_off_has_passed(
    fleet: JobsFleet,
) -> None:
    for n in range(3):
        fleet.add(f"lab-{n}")
    await fleet.cycle()
    fleet.knobs(timeout_rate=1.0)
    failed = await fleet.cycle(after=MINUTE)
    fleet.knobs(timeout_rate=0.0)

    waiting = await fleet.cycle(after=MINUTE / 2)
    retried = await fleet.cycle(after=MINUTE)
    assert failed.failures == 3
    assert (waiting.backed_off, waiting.probed) == (3, 0)
    assert (retried.backed_off, retried.probed, retried.failures) == (0, 3, 0)


async def test_snapshots_go_out_for_changed_workers_and_for_everyone_every_nth_cycle(
    clock: FakeClock,
) -> None:
    system = bootstrap(settings(snapshot_every_n_cycles=4), clock=clock)
    await system.start()
    try:
        fleet = JobsFleet(system)
        ids = {fleet.add(f"lab-{n}") for n in range(3)}
        await fleet.cycle()  # cycle 1: nobody was sent yet
        await fleet.cycle()  # cycle 2: nothing changed
        moved = next(iter(ids))
        fleet.cloud.console_stop(fleet.instances[moved])
        await fleet.cycle(after=2 * MINUTE)  # cycle 3: one worker changed
        await fleet.cycle()  # cycle 4: everyone
    finally:
        await system.stop()

    sent = [set(ids_sent) for ids_sent, _ in fleet.hub.sent]
    assert sent == [ids, {moved}, ids]
    positions = [position for _, position in fleet.hub.sent]
    assert positions == sorted(positions) and positions[-1] == system.store.max_position()


async def test_user_activity_is_recorded_but_not_our_own_api_logins(fleet: JobsFleet) -> None:
    busy = fleet.add("classroom", busy=True, age=timedelta(hours=4))
    await fleet.cycle()
    dto = await fleet.worker(busy)
    assert dto.last_activity_at is not None
    assert dto.recent_activity and all(a.detail != "cml-fleet" for a in dto.recent_activity)


async def test_raw_samples_go_to_the_history_not_to_the_event_log(fleet: JobsFleet) -> None:
    running, stopped = fleet.add("lab"), fleet.add("asleep", stopped=True)
    await fleet.cycle()
    logged = fleet.events()
    for _ in range(5):
        await fleet.cycle(after=MINUTE)
    history = fleet.system.metrics_history
    samples = history.samples(running)
    assert len(samples) == 6 and history.samples(stopped) == ()
    assert all(s.cpu_percent is not None and s.disk_percent is not None for s in samples)
    assert fleet.events() - logged <= 2  # five polls, almost nothing logged


@pytest.mark.parametrize("fleet", [{"sim_busy_fraction": 0.0}], indirect=True)
async def test_a_steady_idle_fleet_polled_every_minute_logs_at_most_five_events_an_hour(
    fleet: JobsFleet,
) -> None:
    workers = 10
    for n in range(workers):
        fleet.add(f"idle-{n}", age=timedelta(hours=2))
    for _ in range(5):  # warm-up: first observations, status checks settle
        await fleet.cycle(after=MINUTE)
    before = fleet.events()
    for _ in range(60):
        await fleet.cycle(after=MINUTE)
    per_worker_hour = (fleet.events() - before) / workers
    assert 2 <= per_worker_hour <= 5  # the freshness marks, and next to nothing else
