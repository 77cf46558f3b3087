"""Webhook fan-out (issue 18): 1,000 events/s, each wanted by 10 subscriptions, to 10
receivers (another process on 127.0.0.1), through the real path: the event log, the
outbox (its own position, committed with the delivery rows in SQLite), the sender.

The load is open loop: 10 tag changes stored every 10 ms for ``SECONDS``. Measured:
events delivered per second per receiver, and each event's lag (stored → received)
p50/p99. Baselines in the same run: the same load sent one request per event (no
batch), and the raw rate of httpx POSTs from one process to the same receivers (the
library's limit here, with no store at all). Target: keeps up — every receiver takes
every event at >= 95 % of the offered 1,000/s, counting until the last one arrives
(the drain after the load is included), and the p99 lag stays within 2 s.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from application.webhooks.subscriptions import Subscription
from bench.report import Benchmark, Figure, percentile
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.worker import CMLWorker
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap

RECEIVERS = 10
RATE = 1000
SECONDS = 10.0
TICK = 0.01
WORKERS = 1000
SECRET = "bench-secret-0123456789"
CAUSE = Cause("bench", "bench-fanout")
LAG_TARGET = 2.0


class Receivers:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.webhook_receivers", str(RECEIVERS)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.ports: list[int] = json.loads(self.process.stdout.readline())

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n]}/hook"

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"http://127.0.0.1:{self.ports[0]}/stats", timeout=30).json())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def seed(system: System) -> list[CMLWorker]:
    workers = [
        CMLWorker.import_instance(
            WorkerSpec(f"w-{n:04d}", "eu-west-1", "m5.xlarge"),
            instance_id=f"i-{n:017x}", observed=WorkerStatus.RUNNING, cause=CAUSE,
        )
        for n in range(WORKERS)
    ]  # fmt: skip
    system.store.save(*workers)
    return [system.store.get(w.id) for w in workers]


def load(system: System, workers: list[CMLWorker], seconds: float) -> int:
    """Open loop: ``RATE * TICK`` tag changes stored each tick; how many."""
    per_tick = int(RATE * TICK)
    started, n = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed / TICK) + 1
        while n < due * per_tick:
            batch = [system.store.get(workers[(n + k) % WORKERS].id) for k in range(per_tick)]
            for worker in batch:
                worker.change_tags({"bench": str(n)}, (), cause=CAUSE)
            system.store.save(*batch)
            n += per_tick
        time.sleep(max(0.0, (due * TICK) - (time.perf_counter() - started)))
    return n


async def fan_out(batch: bool, seconds: float) -> dict[str, Any]:
    """Deliver ``seconds`` of load to fresh receivers; their stats and the time taken."""
    receivers = Receivers()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), demo_workers=0, scheduler_enabled=False,
                            operations_enabled=False)  # fmt: skip
        system = bootstrap(settings)
        try:
            workers = seed(system)
            wanted = ("worker.tags.changed",)
            for n in range(RECEIVERS):
                hook = Subscription(f"r{n}", receivers.url(n), SECRET, wanted, batch=batch)
                system.webhooks.add(hook)
            # the outbox starts at the log's end: set it now, before the load begins
            system.webhooks.enqueue((), system.store.max_position(), time.time())
            await system.start()
            started = time.perf_counter()
            sent = await asyncio.to_thread(load, system, workers, seconds)
            loaded = time.perf_counter() - started
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stats = await asyncio.to_thread(receivers.stats)
                if min(stats["events"]) >= sent:
                    break
                await asyncio.sleep(0.1)  # polling the receivers, not a timing assumption
            took = time.perf_counter() - started
            await system.stop()
        finally:
            system.close()
            receivers.close()
    return {"sent": sent, "loaded": loaded, "took": took, **stats}


async def raw_rate(seconds: float = 3.0) -> float:
    """httpx POSTs per second to the receivers (a small CloudEvent each), 10 at once."""
    receivers = Receivers()
    body = json.dumps({"id": "x", "time": "2026-12-05T10:00:00+00:00", "data": {}}).encode()
    count = 0
    try:
        async with httpx.AsyncClient() as client:
            end = time.perf_counter() + seconds

            async def post(n: int) -> None:
                nonlocal count
                while time.perf_counter() < end:
                    await client.post(receivers.url(n), content=body)
                    count += 1

            started = time.perf_counter()
            await asyncio.gather(*(post(n) for n in range(RECEIVERS)))
            return count / (time.perf_counter() - started)
    finally:
        receivers.close()


def report(bench: Benchmark, label: str, result: dict[str, Any], target: bool) -> None:
    rate = min(result["events"]) / result["took"]
    lags = [lag for each in result["lags"] for lag in each]
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    taken = min(result["events"])
    bench.note(
        f"{label}: {result['sent']:,} events stored in {result['loaded']:.1f} s; per receiver "
        f"{taken:,}..{max(result['events']):,} taken in {sum(result['requests']):,} requests; "
        f"all delivered after {result['took']:.1f} s"
    )
    kept_up = taken >= result["sent"] and rate >= RATE * 0.95 and p99 <= LAG_TARGET
    goal = "keeps up: >= 95 % of the offered rate, drain included" if target else ""
    bench.add(Figure(f"{label}: events/s per receiver", rate, "events/s", RATE, "offered",
                     goal, kept_up if target else None))  # fmt: skip
    bench.add(Figure(f"{label}: lag p50", p50 * 1000, "ms"))
    bench.add(Figure(f"{label}: lag p99", p99 * 1000, "ms", None, "",
                     f"<= {LAG_TARGET * 1000:.0f} ms" if target else "",
                     p99 <= LAG_TARGET if target else None))  # fmt: skip


def run() -> Benchmark:
    bench = Benchmark(
        "Webhook fan-out (issue 18)",
        f"{RATE:,} events/s for {SECONDS:.0f} s, each to {RECEIVERS} subscriptions on "
        f"{RECEIVERS} receivers (another process), through log, outbox and sender.",
    )
    batched = asyncio.run(fan_out(batch=True, seconds=SECONDS))
    report(bench, "CloudEvents batches", batched, target=True)
    single = asyncio.run(fan_out(batch=False, seconds=3.0))
    report(bench, "baseline: one request per event (3 s)", single, target=False)
    bench.add(Figure("baseline: raw httpx POSTs to the receivers, no store",
                     asyncio.run(raw_rate()), "requests/s"))  # fmt: skip
    return bench


if __name__ == "__main__":
    run()
