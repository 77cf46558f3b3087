"""A schedule boundary for 10,000 workers (issue 18): every worker of a schedule whose
hours end now is stopped, against the simulated cloud with 20 ms per call.

The fleet: 10,000 running workers tagged ``cml-fleet:schedule=office``, no lab in use.
At the end of hours one schedule-job cycle records each worker's stop (the worker's own
command, by ``schedule:office``), and the operations engine carries them out. Measured:
from the boundary to the last stop recorded, to the last stop asked of the cloud, and
the cloud calls it took. Baselines in the same run: the ideal for those calls at the
engine's concurrency (calls x 20 ms / concurrency), and the naive way, one call after
the other (calls x 20 ms). Target: every worker's stop carried out within 60 s.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

from application.jobs.schedule_job import ScheduleJob
from bench.job_fleet import JobFleet, calls_between
from bench.report import Benchmark, Figure
from domain.schedules import Period, Schedule, parse_days
from domain.tags import SCHEDULE_TAG
from infrastructure.wiring.builders import build_schedule_job

WORKERS = 10_000
LATENCY_MS = 20.0
TARGET_SECONDS = 60.0


async def boundary(fleet: JobFleet, job: ScheduleJob, bench: Benchmark) -> None:
    system = fleet.system
    reactor = system.reactor
    assert reactor is not None
    fleet.clock.advance(timedelta(minutes=30))  # 09:30: the hours are over
    await system.start()  # the read model, the engine (idle until the cycle asks)
    await fleet.caught_up()
    before = fleet.calls()
    try:
        started = time.perf_counter()
        report = await job.run(fleet.clock.now())
        recorded = time.perf_counter() - started
        head = system.store.max_position()
        assert await reactor.wait_until(head, 600.0), "the engine did not finish"
        done = time.perf_counter() - started
    finally:
        await system.stop()
    calls = calls_between(before, fleet.calls())
    stopping = sum(
        1 for region in fleet.world.regions() for i in fleet.world.in_region(region)
        if i.state in ("stopping", "stopped")
    )  # fmt: skip
    total_calls = sum(calls.values())
    concurrency = system.settings.operations_concurrency
    ideal = total_calls * LATENCY_MS / 1000 / concurrency
    bench.note(f"{report.asked} stops asked, {report.failures} refused; {stopping} instances "
               f"stopping or stopped; cloud calls: {dict(calls)}")  # fmt: skip
    bench.add(Figure("stops recorded by the schedule job", recorded, "s"))
    bench.add(
        Figure(
            f"boundary to every stop carried out ({WORKERS:,} workers, {LATENCY_MS:.0f} ms/call)",
            done, "s", ideal, f"ideal: {total_calls:,} calls / concurrency {concurrency}",
            f"<= {TARGET_SECONDS:.0f} s", done <= TARGET_SECONDS and stopping == WORKERS,
        )
    )  # fmt: skip
    bench.add(Figure("the naive way: the same calls one after the other",
                     total_calls * LATENCY_MS / 1000, "s"))  # fmt: skip


def run() -> Benchmark:
    bench = Benchmark(
        "Schedule boundary, 10,000 workers (issue 18)",
        f"{WORKERS:,} running workers follow one schedule; its hours end; one job cycle "
        f"and the operations engine stop them all against the simulated cloud at "
        f"{LATENCY_MS:.0f} ms per call.",
    )
    with tempfile.TemporaryDirectory() as tmp:
        fleet = JobFleet(Path(tmp), latency_ms=LATENCY_MS, busy_fraction=0.0)
        hours = Period(parse_days("mon-sun"), clock_time(8), clock_time(9, 30))
        office = Schedule("office", "UTC", (hours,), grace_minutes=0)
        fleet.system.schedules.put(office, "bench")
        fleet.seed(WORKERS, busy=False, tags={SCHEDULE_TAG: "office"})
        try:
            asyncio.run(boundary(fleet, build_schedule_job(fleet.system), bench))
        finally:
            fleet.system.close()
    return bench


if __name__ == "__main__":
    run()
