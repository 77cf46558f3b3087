"""Event store: the library's raw save rate, and snapshot-bounded loading cost."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Benchmark, Figure
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.values import MetricThresholds, Telemetry
from domain.worker import CMLWorker
from infrastructure.store.event_store import FleetEventStore

CAUSE = Cause("bench", "bench")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sqlite_store(path: Path, snapshots: bool = True) -> FleetEventStore:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    if not snapshots:
        env["IS_SNAPSHOTTING_ENABLED"] = "n"
    return FleetEventStore(env)


def new_worker(i: int) -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(name=f"worker-{i}", region="eu-west-1", instance_type="m5.2xlarge"),
        instance_id=f"i-{i:08x}",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def raw_save_rate(store: FleetEventStore, workers: list[CMLWorker], seconds: float) -> float:
    """Single-command saves straight into the library: load, change one tag, save."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        worker = store.repository.get(workers[done % len(workers)].id)
        worker.change_tags({"bench": str(done)}, (), cause=CAUSE)
        store.save(worker)
        done += 1
    return done / (time.perf_counter() - start)


def grow(store: FleetEventStore, worker: CMLWorker, events: int) -> None:
    """Append ``events`` realistic events (pause/resume cycles and metrics)."""
    at = T0
    while worker.version < events:
        at += timedelta(minutes=1)
        if worker.version % 7 == 0:
            worker.pause(PauseReason.MANUAL, at=at, cause=CAUSE)
            worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
            worker.resume(PauseReason.MANUAL, at=at, cause=CAUSE)
            worker.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
        else:
            cpu = float((worker.version * 37) % 100)
            worker.record_metrics(
                Telemetry(cml_cpu_percent=cpu),
                at=at,
                thresholds=MetricThresholds(),
                cause=CAUSE,
            )
        if len(worker.pending_events) >= 200:
            store.save(worker)
    store.save(worker)


def load_ms(store: FleetEventStore, worker_id: object, repeat: int = 200) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        store.get(worker_id)  # type: ignore[arg-type]
    return (time.perf_counter() - start) / repeat * 1000


def run() -> Benchmark:
    bench = Benchmark(
        "event store (SQLite)",
        "The library's raw single-command save rate (the limit the HTTP path is compared with) and "
        "the cost of loading a worker with 50 vs 5,000 events (snapshots every 50).",
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = sqlite_store(Path(tmp) / "raw.db")
        workers = [new_worker(i) for i in range(100)]
        store.save(*workers)
        rate = raw_save_rate(store, workers, seconds=3.0)
        bench.add(Figure("raw eventsourcing single-command saves", rate, "saves/s"))

        store = sqlite_store(Path(tmp) / "load.db")
        small, large = new_worker(1), new_worker(2)
        grow(store, small, 50)
        grow(store, large, 5000)
        small_ms, large_ms = load_ms(store, small.id), load_ms(store, large.id)
        bench.add(Figure("load worker with 50 events", small_ms, "ms"))
        bench.add(
            Figure(
                "load worker with 5,000 events",
                large_ms,
                "ms",
                baseline=small_ms,
                baseline_label="50 events",
                target="about the same as 50 events (<= 2x)",
                met=large_ms <= 2 * small_ms,
            )
        )
        plain = sqlite_store(Path(tmp) / "load.db", snapshots=False)
        replay_ms = load_ms(plain, large.id, repeat=5)
        bench.add(Figure("load 5,000 events without snapshots (naive)", replay_ms, "ms"))
    return bench
