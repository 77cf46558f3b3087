"""100,000 workers on one process (issue 20, target 7; the SQLite part).

100,000 imported workers (a third of them paused and stopped) in SQLite; a real
``cml-fleet serve`` started on them at default settings (scheduler off). Reported: the
time until it is ready (its read model built from the log), its resident memory, and
through HTTP (one keep-alive client) ``GET /api/workers?limit=100`` in three sorts, and
a filtered list (``status=stopped&q=…``), each p50 and p99.

Baseline, same run: the same first page answered by replaying its 100 workers'
aggregates in-process (the naive way), per page.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from application.mapper import map_worker_to_dto
from bench.bench_http_queries import http_ms
from bench.bench_sse_10k import rss_bytes
from bench.bench_store import CAUSE, new_worker, sqlite_store
from bench.report import Benchmark, Figure, median, percentile
from bench.server import running_server
from bench.sse_driver import server_pid
from domain.status import PauseReason, WorkerStatus
from infrastructure.store.event_store import FleetEventStore

WORKERS = 100_000
REQUESTS = 400
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(data_dir: Path) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = sqlite_store(data_dir / "events.sqlite")
    ids, batch = [], []
    for i in range(WORKERS):
        worker = new_worker(i)
        if i % 3 == 0:
            worker.pause(PauseReason.IDLE_TIMEOUT, at=T0, idle_minutes=61.0, cause=CAUSE)
            worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
        ids.append(str(worker.id))
        batch.append(worker)
        if len(batch) == 1_000:
            store.save(*batch)
            batch = []
    store.save(*batch)
    return ids


def naive_page_ms(store: FleetEventStore, ids: list[str], repeat: int = 5) -> float:
    rng, samples = random.Random(3), []
    for _ in range(repeat):
        chosen = rng.sample(ids, 100)
        start = time.perf_counter()
        [map_worker_to_dto(store.get(UUID(i))) for i in chosen]
        samples.append((time.perf_counter() - start) * 1000)
    return median(samples)


def run() -> Benchmark:
    bench = Benchmark(
        "100,000 workers (issue 20)",
        f"{WORKERS:,} imported workers in SQLite under one `cml-fleet serve` (defaults, "
        "scheduler off): ready time, memory, list queries through HTTP; baseline: replaying "
        "a page's aggregates in-process.",
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        ids = seed(data_dir)
        bench.note(f"seeded {WORKERS:,} workers in {time.perf_counter() - started:.0f} s")
        naive = naive_page_ms(sqlite_store(data_dir / "events.sqlite"), ids)
        started = time.perf_counter()
        with running_server(data_dir) as server:
            ready = time.perf_counter() - started
            rss = rss_bytes(server_pid())
            sorts = ["name", "-name", "created_at", "status"]
            pages = http_ms(server, [f"/api/workers?limit=100&sort={s}" for s in sorts] * 100)
            filtered = http_ms(
                server,
                [f"/api/workers?limit=100&status=stopped&q=worker-{k}" for k in range(10)] * 40,
            )
    bench.add(Figure(f"server ready on {WORKERS:,} workers (read model built)", ready, "s"))
    bench.add(
        Figure("server resident memory", rss / 2**20, "MB", target="≤ 2,048 MB", met=rss <= 2**31)
    )
    bench.add(
        Figure(
            "GET /api/workers?limit=100 p50 (4 sorts)",
            median(pages),
            "ms",
            baseline=naive,
            baseline_label="replaying the page's 100 aggregates in-process",
        )
    )
    p99 = percentile(pages, 99)
    bench.add(Figure("GET /api/workers?limit=100 p99", p99, "ms", target="≤ 10 ms", met=p99 <= 10))
    bench.add(Figure("filtered list (status=stopped&q=…) p50", median(filtered), "ms"))
    bench.add(Figure("filtered list p99", percentile(filtered, 99), "ms"))
    bench.note(
        "not measured by this benchmark yet (issue 20, target 7): the same on PostgreSQL, "
        "the steady metrics cycle of 100,000 simulated workers, and the dashboard's first "
        "render of 10,000 workers"
    )
    return bench
