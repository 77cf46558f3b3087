"""HTTP command throughput: 32 concurrent clients against a real uvicorn on 127.0.0.1.

Every request is `PATCH /api/workers/{id}/tags` (one TagsChanged event: load, change,
save), each client on its own workers so there are no conflicts. The baseline is the
library's raw single-command save rate for the same events, measured in this run.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.bench_store import new_worker, raw_save_rate, sqlite_store
from bench.loadgen import LoadResult, request_bytes, run_load
from bench.report import Benchmark, Figure, median, percentile
from bench.server import running_server
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap

CLIENTS = 32
WORKERS_PER_CLIENT = 4
SECONDS = 8.0


def seed(data_dir: Path, count: int) -> list[str]:
    system = bootstrap(Settings(data_dir=data_dir, demo_workers=0, scheduler_enabled=False))
    workers = [new_worker(i) for i in range(count)]
    system.store.save(*workers)
    return [str(w.id) for w in workers]


def load(data_dir: Path, **settings: str) -> tuple[LoadResult, dict[str, Any]]:
    """The load against a server of its own on a freshly seeded store."""
    ids = seed(data_dir, CLIENTS * WORKERS_PER_CLIENT)
    with running_server(data_dir, **settings) as server:
        host = f"{server.host}:{server.port}"

        def make(client: int, n: int) -> bytes:
            worker = ids[client * WORKERS_PER_CLIENT + n % WORKERS_PER_CLIENT]
            body = {"add": {"bench": f"{client}-{n}"}}
            return request_bytes("PATCH", f"/api/workers/{worker}/tags", host, server.token, body)

        result = asyncio.run(run_load(server.host, server.port, CLIENTS, SECONDS, make))
        with server.client() as client:
            summary: dict[str, Any] = client.get("/api/fleet/summary").json()
    return result, summary


def run() -> Benchmark:
    bench = Benchmark(
        "HTTP command throughput (issues 2, 20)",
        f"{CLIENTS} keep-alive clients, PATCH tags (one event per command), {SECONDS:.0f} s, "
        "against `cml-fleet serve` (uvicorn, SQLite). Baseline: the library's raw "
        "single-command save rate (load, change, save) in the same run.",
    )
    with tempfile.TemporaryDirectory() as tmp:
        raw_store = sqlite_store(Path(tmp) / "raw.db")
        raw_workers = [new_worker(i) for i in range(100)]
        raw_store.save(*raw_workers)
        raw = raw_save_rate(raw_store, raw_workers, seconds=SECONDS / 2)

        result, summary = load(Path(tmp) / "server")
        # The same load with the operations reactor off: what the commands cost without
        # carrying the tag changes out to EC2 (each one's outcome event and cloud call).
        alone, _ = load(Path(tmp) / "alone", operations_enabled="false")
    ok = result.statuses.get(200, 0)
    bench.note(f"statuses: {json.dumps(result.statuses)}; workers: {summary.get('total')}")
    rate = ok / result.seconds
    bench.add(
        Figure(
            "HTTP commands (200 OK)",
            rate,
            "commands/s",
            baseline=raw,
            baseline_label="raw eventsourcing saves",
            target="≥ 150 % of the raw save rate (issue 20)",
            met=rate >= 1.5 * raw,
        )
    )
    bench.add(Figure("share of the raw save rate", 100 * rate / raw, "%"))
    bench.add(Figure("latency p50", median(result.latencies_ms), "ms"))
    p99 = percentile(result.latencies_ms, 99)
    bench.add(Figure("latency p99", p99, "ms", target="≤ 25 ms (issue 20)", met=p99 <= 25))
    rate_alone = alone.statuses.get(200, 0) / alone.seconds
    bench.add(Figure("commands/s with the operations reactor off", rate_alone, "commands/s"))
    bench.add(Figure("latency p99, reactor off", percentile(alone.latencies_ms, 99), "ms"))
    return bench
