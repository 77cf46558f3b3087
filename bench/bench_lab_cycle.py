"""Labs in the metrics cycle (issue 16): what keeping every worker's labs fresh costs.

1. CML calls per worker per steady cycle, over HTTP against the fake CML server: a
   worker with three labs (one started) beside a worker with none, both probed the
   way the metrics job does (``LabWatch``: the lab ids each cycle, details only for new
   labs, after a lab telemetry event, and every N cycles). Baseline, same run: the
   probe before this issue, which read every lab (and the node states of a started
   one) every cycle. Target: at most one call more than a worker without labs when
   nothing changed.
2. The steady cycle of 10,000 workers on the simulated fleet (half with users, labs
   starting and stopping), with the lab rows written and ``worker.labs.changed``
   sent, beside the same job as it was before this issue (every lab read each cycle,
   no rows), in the same run. Target: within 20 %.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from tests.contract.test_cml_port import TOPOLOGY
from tests.fakes import ready_worker
from tests.fakes.cml_rig import http_cml
from tests.fakes.cml_server import FakeCml

from application.jobs.lab_watch import LabWatch
from application.jobs.probe import probe_cml
from bench.job_fleet import JobFleet, calls_between
from bench.report import Benchmark, Figure
from infrastructure.outside.cml_http import HttpCml
from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.shared.clock import FakeClock

CYCLES = 12
WORKERS = 10_000
INTERVAL = timedelta(seconds=30)
STEADY_CYCLES = 3


async def calls_per_cycle(cml: HttpCml, host: str, watch: LabWatch | None) -> list[int]:
    """Calls of each of ``CYCLES`` probes of ``host`` (the first, which reads
    everything, left out)."""
    rows = []
    for _ in range(CYCLES + 1):
        before = sum(cml.calls.values())
        look = partial(watch.look, cml, host, host) if watch is not None else None
        await probe_cml(cml, host, look)
        rows.append(sum(cml.calls.values()) - before)
    return rows[1:]


async def calls_part(bench: Benchmark) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    world = SimWorld(clock, SimKnobs(seed=3, busy_fraction=0.0))  # nobody changes a lab
    with_labs, without = (
        ready_worker(world, clock, busy=False),
        ready_worker(world, clock, busy=False),
    )
    for host in (with_labs, without):
        instance = world.resolve(host)
        assert instance is not None
        instance.cml.labs.clear()
    instance = world.resolve(with_labs)
    assert instance is not None
    lab_ids = [world.import_lab(instance, TOPOLOGY, f"lab {n}") for n in range(3)]
    world.lab(instance, lab_ids[0], "start")
    with FakeCml(world) as fake:
        cml = http_cml(fake, clock)
        try:
            watch = LabWatch(full_every=10)
            labs = await calls_per_cycle(cml, with_labs, watch)
            none = await calls_per_cycle(cml, without, watch)
            before = await calls_per_cycle(cml, with_labs, None)
        finally:
            await cml.aclose()
        assert fake.violations == [], fake.violations
    # When nothing changed: the typical cycle (the median leaves out the full refresh).
    extra = statistics.median(labs) - statistics.median(none)
    bench.note(
        f"{CYCLES} cycles after the first; per cycle with labs {labs}, without {none}, "
        f"before this issue {before} (3 labs, one started with 2 nodes; a full refresh "
        "each 10th cycle)"
    )
    bench.add(
        Figure(
            "CML calls per steady cycle, worker with 3 labs, beyond a worker without labs",
            extra,
            "calls",
            baseline=statistics.median(before) - statistics.median(none),
            baseline_label="before this issue: every lab and its node states each cycle",
            target="≤ 1 extra call when nothing changed",
            met=extra <= 1,
        )
    )
    bench.add(
        Figure(
            "CML calls per cycle averaged over the refresh interval, worker with 3 labs",
            statistics.mean(labs),
            "calls",
            baseline=statistics.mean(before),
            baseline_label="before this issue",
        )
    )


async def fleet_cycle(tmp: Path, with_rows: bool) -> tuple[float, float, float, int]:
    """(median steady seconds, CML calls per worker per steady cycle, CPU per cycle,
    workers whose labs changed per cycle) of a 10,000-worker fleet."""
    fleet = JobFleet(tmp, operations_enabled=False)
    fleet.seed(WORKERS)
    if not with_rows:  # the job as it was: every lab read every cycle, nothing kept
        fleet.job.labs = None
        fleet.job.lab_watch.full_every = 1
    await fleet.system.start()
    try:
        await fleet.caught_up()
        await fleet.cycle()
        before = fleet.calls()
        cpu = time.process_time()
        reports = [await fleet.cycle(INTERVAL) for _ in range(STEADY_CYCLES)]
        cpu = (time.process_time() - cpu) / STEADY_CYCLES
        calls = calls_between(before, fleet.calls())
        cml = sum(n for op, n in calls.items() if op.startswith("cml:"))
        seconds = statistics.median(r.duration_seconds for r in reports)
        changed = round(statistics.mean(r.labs_changed for r in reports))
        return seconds, cml / WORKERS / STEADY_CYCLES, cpu, changed
    finally:
        await fleet.system.stop()


async def fleet_part(bench: Benchmark, tmp: Path) -> None:
    old = await fleet_cycle(tmp / "before", with_rows=False)
    new = await fleet_cycle(tmp / "labs", with_rows=True)
    bench.add(
        Figure(
            f"steady cycle, {WORKERS:,} workers, lab rows kept",
            new[0],
            "s",
            baseline=old[0],
            baseline_label="the job before this issue, same run",
            target="within 20 % of before",
            met=new[0] <= 1.2 * old[0],
        )
    )
    bench.add(
        Figure(
            f"CML calls per worker per steady cycle, {WORKERS:,} workers",
            new[1],
            "calls",
            baseline=old[1],
            baseline_label="before this issue",
        )
    )
    bench.note(
        f"{WORKERS:,} workers: CPU per steady cycle {new[2]:.2f} s with rows, {old[2]:.2f} s "
        f"before; workers whose labs changed per cycle (rows written, frames sent): {new[3]}"
    )


def run() -> Benchmark:
    bench = Benchmark(
        "labs in the metrics cycle",
        "CML calls per worker per steady cycle with labs (over HTTP, fake CML server), and "
        "the 10,000-worker steady cycle keeping lab rows, each beside the job before this "
        "issue in the same run.",
    )

    async def measure(tmp: Path) -> None:
        await calls_part(bench)
        await fleet_part(bench, tmp)

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(Path(tmp)))
    return bench
