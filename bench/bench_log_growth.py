"""Event-log growth of a steady fleet polled every 60 s, on a fake clock (no sleeping).

The real system and metrics job on the simulated fleet (see ``bench.job_fleet``):
200 idle workers (no users) and, beside them, 50 workers with users starting and
stopping labs. After a warm-up (the first cycle records every worker's state, then
CML finishes booting), the fleet is polled every 60 s for two simulated hours and
every stored event is counted, per worker and by type. The baseline is recording
every poll: 60 events per worker per hour.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.job_fleet import JobFleet
from bench.report import Benchmark, Figure

IDLE_WORKERS = 200
BUSY_WORKERS = 50
POLL = timedelta(seconds=60)
WARM_UP = timedelta(minutes=30)
HOURS = 2
NAIVE_PER_HOUR = timedelta(hours=1) / POLL  # one event per poll


async def measure(bench: Benchmark, data_dir: Path) -> None:
    fleet = JobFleet(data_dir)
    idle = set(fleet.seed(IDLE_WORKERS, busy=False))
    busy = set(fleet.seed(BUSY_WORKERS, busy=True, first=IDLE_WORKERS))
    await fleet.system.start()
    try:
        await fleet.cycle()
        for _ in range(int(WARM_UP / POLL)):
            await fleet.cycle(POLL)
        start, position = time.perf_counter(), fleet.system.store.max_position()
        polls = int(timedelta(hours=HOURS) / POLL)
        for _ in range(polls):
            await fleet.cycle(POLL)
        await fleet.caught_up()
        events = fleet.events(position)
        elapsed = time.perf_counter() - start
    finally:
        await fleet.system.stop()
    report(bench, events, idle, busy, polls, elapsed)


def report(
    bench: Benchmark,
    events: list[tuple[str, str]],
    idle: set[str],
    busy: set[str],
    polls: int,
    elapsed: float,
) -> None:
    idle_kinds = Counter(kind for worker, kind in events if worker in idle)
    busy_kinds = Counter(kind for worker, kind in events if worker in busy)
    idle_rate = idle_kinds.total() / len(idle) / HOURS
    busy_rate = busy_kinds.total() / len(busy) / HOURS
    bench.add(
        Figure(
            f"events per idle worker per hour ({len(idle)} workers, polled every 60 s)",
            idle_rate,
            "events",
            baseline=NAIVE_PER_HOUR,
            baseline_label="recording every poll (computed)",
            target="≤ 5",
            met=idle_rate <= 5,
        )
    )
    bench.add(
        Figure(
            f"events per worker with users per hour ({len(busy)} workers)",
            busy_rate,
            "events",
            baseline=NAIVE_PER_HOUR,
            baseline_label="recording every poll (computed)",
        )
    )
    bench.note(f"idle workers, events over {HOURS} h by type: {dict(idle_kinds.most_common())}")
    bench.note(f"workers with users, events by type: {dict(busy_kinds.most_common())}")
    bench.note(
        f"{polls} polls of {len(idle) + len(busy)} workers after a "
        f"{WARM_UP.total_seconds() / 60:.0f}-minute warm-up, "
        f"simulated with a fake clock in {elapsed:.1f} s"
    )


def run() -> Benchmark:
    bench = Benchmark(
        "event-log growth (simulated fleet)",
        f"A steady fleet polled every 60 s for {HOURS} simulated hours by the real metrics job: "
        "stored events per worker per hour, against recording every poll.",
    )
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(bench, Path(tmp)))
    return bench
