"""The scheduler runs jobs on time and on demand, one run at a time, and tells how
each went."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from infrastructure.running.scheduler import FleetScheduler, JobAlreadyRunning, UnknownJob
from infrastructure.shared.clock import FakeClock


class Job:
    """A job that counts its runs and can be held open or made to fail."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False

    async def __call__(self) -> str:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        if self.fail:
            raise RuntimeError("CloudWatch is down")
        return f"run {self.runs}"


async def test_running_a_job_now_reports_its_last_run_duration_and_result(
    clock: FakeClock,
) -> None:
    scheduler = FleetScheduler(clock, enabled=False)
    job = Job(clock)
    scheduler.add_job("metrics", "Metrics collection", job, 30.0)

    info = await scheduler.run_now("metrics")

    assert (info.runs, info.last_run_at, info.last_result, info.last_error) == (
        1,
        clock.now(),
        "run 1",
        None,
    )
    assert info.last_duration_seconds is not None and info.last_duration_seconds >= 0
    assert not info.running and not info.scheduled and info.next_run_at is None


async def test_a_failing_run_is_reported_and_the_next_one_still_runs(clock: FakeClock) -> None:
    scheduler = FleetScheduler(clock, enabled=False)
    job = Job(clock)
    scheduler.add_job("metrics", "Metrics collection", job, 30.0)
    job.fail = True
    failed = await scheduler.run_now("metrics")
    job.fail = False
    clock.advance(timedelta(minutes=1))
    fine = await scheduler.run_now("metrics")
    assert (failed.failures, failed.last_error) == (1, "RuntimeError: CloudWatch is down")
    assert (fine.runs, fine.failures, fine.last_error) == (2, 1, None)


async def test_a_job_never_runs_twice_at_once(clock: FakeClock) -> None:
    scheduler = FleetScheduler(clock, enabled=False)
    job = Job(clock)
    job.release.clear()
    scheduler.add_job("metrics", "Metrics collection", job, 30.0)
    scheduler.trigger("metrics")
    await asyncio.wait_for(job.started.wait(), 5)
    assert scheduler.info("metrics").running
    with pytest.raises(JobAlreadyRunning):
        await scheduler.run_now("metrics")
    await scheduler.stop()  # cancels the run in progress
    assert not scheduler.info("metrics").running and job.runs == 1


async def test_an_unknown_job_is_an_error(clock: FakeClock) -> None:
    scheduler = FleetScheduler(clock)
    with pytest.raises(UnknownJob):
        await scheduler.run_now("nope")
    with pytest.raises(UnknownJob):
        scheduler.info("nope")


async def test_when_enabled_the_job_runs_at_start_up_and_then_on_its_interval(
    clock: FakeClock,
) -> None:
    scheduler = FleetScheduler(clock, enabled=True)
    job = Job(clock)
    scheduler.add_job("metrics", "Metrics collection", job, 3600.0)
    scheduler.start()
    try:
        await asyncio.wait_for(job.started.wait(), 5)
        info = scheduler.info("metrics")
        assert info.scheduled and info.next_run_at is not None
        assert [j.id for j in scheduler.jobs()] == ["metrics"]
    finally:
        await scheduler.stop()
    assert job.runs == 1


async def test_when_disabled_nothing_runs_on_a_timer(clock: FakeClock) -> None:
    scheduler = FleetScheduler(clock, enabled=False)
    scheduler.add_job("metrics", "Metrics collection", Job(clock), 0.01)
    scheduler.start()
    info = scheduler.info("metrics")
    await scheduler.stop()
    assert (info.scheduled, info.next_run_at, info.runs) == (False, None, 0)
