"""Read-model rebuild from the log (issue 20, target 6).

A log of 1,000,000 events (10,000 workers, 100 events each: an import, metrics, pauses
and resumes) in SQLite; then the worker view is rebuilt from it (``ReadModel.rebuild``:
clear, replay every event through the projection, write the rows) and timed.

Baseline, same run: reading the same log with the library's raw
``select_notifications`` in pages of the follower's size (no decoding, no projection):
the rate at which the log itself can be read.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_store import CAUSE, new_worker, sqlite_store
from bench.report import Benchmark, Figure
from domain.status import PauseReason, WorkerStatus
from domain.values import MetricThresholds, Telemetry
from infrastructure.read_model.follower import BATCH_SIZE
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import FleetEventStore
from infrastructure.wiring.builders import build_read_model

WORKERS = 10_000
EVENTS_PER_WORKER = 100
SAVE_EVERY = 200  # workers per transaction while seeding
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(store: FleetEventStore) -> int:
    """``WORKERS`` workers of ``EVENTS_PER_WORKER`` events; the log's length."""
    batch = []
    for i in range(WORKERS):
        worker = new_worker(i)
        k = 0
        while worker.version < EVENTS_PER_WORKER:
            k += 1
            at = T0 + timedelta(minutes=k)
            if k % 25 == 0 and worker.version <= EVENTS_PER_WORKER - 4:
                worker.pause(PauseReason.IDLE_TIMEOUT, at=at, idle_minutes=61.0, cause=CAUSE)
                worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
                worker.resume(PauseReason.MANUAL, at=at, cause=CAUSE)
                worker.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
                continue
            worker.record_metrics(
                Telemetry(cml_cpu_percent=float((i * 7 + k * 23) % 100), labs_count=k % 3),
                at=at,
                thresholds=MetricThresholds(),
                cause=CAUSE,
            )
        batch.append(worker)
        if len(batch) == SAVE_EVERY:
            store.save(*batch)
            batch = []
    if batch:
        store.save(*batch)
    return store.max_position()


def raw_rate(store: FleetEventStore) -> tuple[float, int]:
    """Notifications per second read with the library's ``select_notifications``."""
    start, after, count = time.perf_counter(), 0, 0
    while page := store.read_log(after, BATCH_SIZE):
        count += len(page)
        after = page[-1].id
    return count / (time.perf_counter() - start), count


def rebuild_rate(data_dir: Path, store: FleetEventStore) -> tuple[float, int]:
    settings = Settings(data_dir=data_dir, demo_workers=0, scheduler_enabled=False)
    model = build_read_model(settings, store)
    try:
        start = time.perf_counter()
        position = model.rebuild()
        seconds = time.perf_counter() - start
        assert len(model.all_workers()) == WORKERS, "the rebuilt view misses workers"
        return position / seconds, position
    finally:
        model.close()


def run() -> Benchmark:
    bench = Benchmark(
        "Read-model rebuild (issue 20)",
        f"The worker view rebuilt from a log of {WORKERS * EVENTS_PER_WORKER:,} events "
        f"({WORKERS:,} workers, SQLite) vs reading the same log with the library's raw "
        "`select_notifications` in the same run.",
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        store = sqlite_store(data_dir / "events.sqlite")
        started = time.perf_counter()
        events = seed(store)
        bench.note(f"seeded {events:,} events in {time.perf_counter() - started:.0f} s")
        raw, read = raw_rate(store)
        rate, rebuilt = rebuild_rate(data_dir, store)
    assert read == rebuilt == events
    bench.add(
        Figure(
            f"rebuild of the worker view, {events:,} events",
            rate,
            "events/s",
            baseline=raw,
            baseline_label="raw select_notifications",
            target="≥ 50 % of the raw rate",
            met=rate >= raw / 2,
        )
    )
    bench.add(Figure("rebuild as a share of the raw rate", 100 * rate / raw, "%"))
    bench.add(Figure(f"rebuild time, {events:,} events", events / rate, "s"))
    return bench
