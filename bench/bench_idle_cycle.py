"""The idle detection job's cycle on 10,000 simulated workers, in-process.

The real system (``bootstrap``: SQLite event store and read model in a temporary
directory, simulated EC2/CML on a fake clock), 10,000 running workers imported, one
metrics cycle 45 minutes later (so every worker's view has its address, labs and
activity, as in a live fleet), then:

- the idle cycle when some pauses are due: one worker in ten has a 30-minute timeout
  (the others the default 60), so about 1,000 are due; each of those is asked once
  more (CML telemetry and labs) and paused; a fifth of the fleet has users;
- the steady cycle right after (nothing due: the read model is all it reads);
- baseline, same run, same fleet: one worker at a time, the naive way (load the
  worker from the event store, ask its CML for telemetry and labs, assess), deciding
  only, measured before the real cycle.

Zero simulated latency: the figures are our code's cost, not the network's.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from application.jobs.idle import IdleJob, IdleReport
from application.jobs.observe import activity_in, host_of
from bench.job_fleet import REGIONS, JobFleet
from bench.report import Benchmark, Figure
from domain.cause import Cause
from domain.policies import assess_idle, worker_status_for_ec2_state
from domain.spec import WorkerSpec
from domain.worker import CMLWorker
from infrastructure.wiring.builders import build_idle_job
from infrastructure.wiring.demo import launch_with_past

SETUP = {"actor": "bench", "correlation_id": "bench-setup"}
SETUP_CAUSE = Cause(**SETUP)
WORKERS = 10_000
SHORT_TIMEOUT_EVERY = 10
BATCH = 500
TARGET_SECONDS = 10.0


def seed(fleet: JobFleet, count: int) -> None:
    """``count`` running workers with CML ready; every tenth with a 30-minute timeout."""
    batch: list[CMLWorker] = []
    for k in range(count):
        region = REGIONS[k % len(REGIONS)]
        name = f"worker-{k:05d}"
        instance = launch_with_past(
            fleet.world, name, region, "m5.2xlarge", {}, age=timedelta(minutes=10)
        )
        info = instance.info()
        batch.append(
            CMLWorker.import_instance(
                WorkerSpec(
                    name=name,
                    region=region,
                    instance_type=info.instance_type,
                    idle_timeout_minutes=30 if k % SHORT_TIMEOUT_EVERY == 0 else None,
                ),
                instance_id=info.instance_id,
                observed=worker_status_for_ec2_state(info.state),
                cause=SETUP_CAUSE,
            )
        )
        if len(batch) == BATCH:
            fleet.system.store.save(*batch)
            batch = []
    if batch:
        fleet.system.store.save(*batch)


async def one_at_a_time(fleet: JobFleet, job: IdleJob) -> tuple[float, int]:
    """The naive cycle: each worker loaded, asked and assessed in turn (no pausing)."""
    system, config = fleet.system, job.config
    service_account = re.compile(config.service_account_pattern)
    now = fleet.clock.now()
    started = time.perf_counter()
    workers = system.read_model.all_workers()
    eligible = 0
    for dto in workers:
        worker = system.store.get(UUID(dto.id))
        if worker.status.value != "running" or not worker.idle_detection_enabled:
            continue
        host = host_of(worker.public_dns, worker.public_ip, worker.private_ip)
        last = worker.last_activity_at
        if host is not None:
            events = await system.cml.telemetry_events(host)
            labs = await system.cml.labs(host)
            fresh = activity_in(events, last, service_account)
            last = max([r.at for r in fresh], default=last)
            if any(lab.state == "STARTED" for lab in labs):
                last = now
        timeout = config.timeout
        if worker.idle_timeout_minutes is not None:
            timeout = timedelta(minutes=worker.idle_timeout_minutes)
        verdict = assess_idle(
            now, last, worker.last_resumed_at, worker.created_on, timeout, config.snooze,
            worker.running_since,
        )  # fmt: skip
        eligible += verdict.eligible
    return time.perf_counter() - started, eligible


async def measure(bench: Benchmark, data_dir: Path) -> None:
    # measured: the idle job; stopping instances (the operations engine) comes after
    fleet = JobFleet(data_dir, busy_fraction=0.2, operations_enabled=False)
    fleet.clock.set(datetime.now(UTC))  # event timestamps come from the real clock
    seed(fleet, WORKERS)
    await fleet.system.start()
    try:
        await fleet.cycle(timedelta(minutes=45))  # the metrics job fills every view in
        await fleet.caught_up()
        job = build_idle_job(fleet.system)
        naive, eligible = await one_at_a_time(fleet, job)
        report: IdleReport = await job.run(fleet.clock.now())
        await fleet.caught_up()
        steady: IdleReport = await job.run(fleet.clock.now())
    finally:
        await fleet.system.stop()
    bench.add(
        Figure(
            f"idle cycle, {WORKERS:,} workers, {report.due:,} due",
            report.duration_seconds,
            "s",
            baseline=naive,
            baseline_label="one worker at a time: load, ask CML, assess",
            target=f"<= {TARGET_SECONDS:g} s",
            met=report.duration_seconds <= TARGET_SECONDS,
        )
    )
    bench.add(
        Figure(
            f"idle cycle, {WORKERS:,} workers, none due (steady)",
            steady.duration_seconds,
            "s",
            baseline=naive,
            baseline_label="one worker at a time",
            target=f"<= {TARGET_SECONDS:g} s",
            met=steady.duration_seconds <= TARGET_SECONDS,
        )
    )
    bench.add(Figure("speed-up over one at a time", naive / report.duration_seconds, "x"))
    bench.note(
        f"cycle: {report.watched:,} watched, {report.due:,} due, {report.checked:,} asked "
        f"again, {report.activity_recorded:,} with new activity, {report.paused:,} paused; "
        f"the naive pass found {eligible:,} eligible"
    )


def run() -> Benchmark:
    bench = Benchmark(
        "idle detection cycle (simulated fleet)",
        "The idle job over 10,000 running workers (read model scan, a fresh CML look and a "
        "pause for each due worker) beside the naive one-worker-at-a-time pass in the same run.",
    )
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(bench, Path(tmp)))
    return bench


if __name__ == "__main__":
    run()
