"""10,000 concurrent SSE subscribers on one process, 10 notifications/s (issue 20).

A real ``cml-fleet serve`` (SQLite, scheduler off, default settings but for the cap on
open streams) with 20 imported workers; 10,000 subscribers to ``GET /api/events``
(unfiltered: hello and 20 snapshots each) opened by a second process
(:mod:`bench.sse_swarm`, raw asyncio protocols on uvloop), then tag changes at 10/s
for 20 s through the REST API from this process. Reported: time to connect them all,
the server's memory per idle subscriber (its resident set after they connected minus
before, divided by the subscribers: allocator slack included), delivery latency from
command to frame, and whether every client got every notification once and in order.

Baseline, same run: the same 10,000 connections to a bare uvicorn app that answers
each with one chunk and holds the response open (the least a streaming response on
this server stack costs).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_http_commands import seed
from bench.report import Benchmark, Figure
from bench.server import running_server
from bench.sse_driver import cpu_seconds, drive, server_pid
from bench.sse_swarm import raise_file_limit

CLIENTS = 10_000
WORKERS = 20
RATE = 10.0  # notifications per second
SECONDS = 20.0
SETTLE_SECONDS = 3.0  # after connecting, before reading the memory
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Swarmed:
    connect_seconds: float
    rss_before: int
    rss_after: int
    result: dict[str, float]
    server_cpu: float = 0.0
    wall: float = 0.0


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def start_swarm(
    port: int, token: str, clients: int, workers: int, notes: int
) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'src'}")
    args = ["127.0.0.1", str(port), token, str(clients), str(workers), str(notes)]
    return subprocess.Popen(
        [sys.executable, "-m", "bench.sse_swarm", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def wait_ready(swarm: subprocess.Popen[str]) -> float:
    assert swarm.stdout is not None
    line = swarm.stdout.readline()
    if not line.startswith("ready "):
        swarm.kill()
        raise RuntimeError(f"the clients did not connect: {line!r}")
    return float(line.split()[1])


def finish(swarm: subprocess.Popen[str]) -> dict[str, float]:
    assert swarm.stdin is not None and swarm.stdout is not None
    swarm.stdin.write("go\n")
    swarm.stdin.flush()
    result: dict[str, float] = json.loads(swarm.stdout.readline())
    swarm.wait(timeout=60)
    return result


def fleet_run(data_dir: Path) -> Swarmed:
    ids = seed(data_dir, WORKERS)
    count = int(RATE * SECONDS)
    with running_server(data_dir, sse_max_streams=str(2 * CLIENTS)) as server:
        pid = server_pid()
        before = rss_bytes(pid)
        swarm = start_swarm(server.port, server.token, CLIENTS, WORKERS, count)
        try:
            connect = wait_ready(swarm)
            time.sleep(SETTLE_SECONDS)  # let the connect burst's buffers go (not a measurement)
            after = rss_bytes(pid)
            wall, cpu = time.perf_counter(), cpu_seconds(pid)
            asyncio.run(drive(server, ids, count, RATE, "swarm"))
            result = finish(swarm)
            run = Swarmed(connect, before, after, result)
            run.server_cpu, run.wall = cpu_seconds(pid) - cpu, time.perf_counter() - wall
            return run
        finally:
            swarm.kill()


BARE_APP = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "body": b"event: hello\\n\\n", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass
"""


def bare_run(tmp: Path) -> Swarmed:
    """The same connections to a bare uvicorn streaming app: the stack's own cost."""
    (tmp / "bare_stream.py").write_text(BARE_APP)
    port, log = free_port(), tmp / "bare.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_stream:app", "--port", str(port),
             "--no-access-log", "--backlog", "4096"],
            cwd=tmp,
            stderr=out,
        )  # fmt: skip
    try:
        _wait_started(log)
        before = rss_bytes(server.pid)
        swarm = start_swarm(port, "-", CLIENTS, 0, 0)
        try:
            connect = wait_ready(swarm)
            time.sleep(SETTLE_SECONDS)
            after = rss_bytes(server.pid)
            return Swarmed(connect, before, after, finish(swarm))
        finally:
            swarm.kill()
    finally:
        server.terminate()
        server.wait(timeout=15)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_started(log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "Uvicorn running on" in log.read_text():
            return
        time.sleep(0.05)  # start-up poll, not a measurement
    raise RuntimeError(f"the bare server did not start: {log.read_text()[-500:]}")


def report(bench: Benchmark, fleet: Swarmed, bare: Swarmed) -> None:
    count = int(RATE * SECONDS)
    r = fleet.result
    per = (fleet.rss_after - fleet.rss_before) / CLIENTS / 1024
    bare_per = (bare.rss_after - bare.rss_before) / CLIENTS / 1024
    bench.add(
        Figure(
            f"{CLIENTS:,} subscribers connected (hello + {WORKERS} snapshots each)",
            fleet.connect_seconds,
            "s",
            baseline=bare.connect_seconds,
            baseline_label="bare uvicorn stream, one chunk each",
            target="≤ 60 s",
            met=fleet.connect_seconds <= 60,
        )
    )
    bench.add(
        Figure(
            "server memory per idle subscriber",
            per,
            "KB",
            baseline=bare_per,
            baseline_label="bare uvicorn stream",
            target="≤ 20 KB",
            met=per <= 20,
        )
    )
    bench.add(Figure("delivery latency p50 (command sent -> frame received)", r["p50_ms"], "ms"))
    bench.add(
        Figure(
            f"delivery latency p99 ({CLIENTS:,} clients, {RATE:.0f} notifications/s)",
            r["p99_ms"],
            "ms",
            target="≤ 500 ms",
            met=r["p99_ms"] <= 500,
        )
    )
    exact = r["complete"] == CLIENTS and not r["out_of_order"] and not r["duplicates"]
    bench.add(
        Figure(
            "clients that got every notification, once and in order",
            r["complete"],
            "clients",
            target=f"all {CLIENTS:,}, none twice or out of order",
            met=exact,
        )
    )
    bench.add(
        Figure("server CPU while streaming", 100 * fleet.server_cpu / fleet.wall, "% of a core")
    )
    bench.note(
        f"{r['deliveries']:,.0f} of {count * CLIENTS:,} deliveries; {r['out_of_order']:.0f} out "
        f"of log order, {r['duplicates']:.0f} twice; {r['closed_early']:.0f} streams closed "
        f"early; server resident set {fleet.rss_before / 2**20:.0f} MB before the streams, "
        f"{fleet.rss_after / 2**20:.0f} MB with them (bare uvicorn: "
        f"{bare.rss_before / 2**20:.0f} → {bare.rss_after / 2**20:.0f} MB); the clients' "
        f"process used {r['client_cpu']:.1f} s of CPU; one machine with {os.cpu_count()} cores"
    )


def run() -> Benchmark:
    bench = Benchmark(
        "10,000 SSE streams on one process (issue 20)",
        f"{CLIENTS:,} concurrent subscribers of one `cml-fleet serve` (SQLite, defaults) opened "
        f"by a second process, {RATE:.0f} tag changes/s for {SECONDS:.0f} s: connect time, "
        "memory per idle subscriber, delivery latency, exactly-once in order. Baseline: the "
        "same connections to a bare uvicorn streaming app.",
    )
    limit = raise_file_limit()  # the server and the clients' process inherit it
    if limit < CLIENTS + 1_000:  # each process holds a socket per stream
        bench.note(f"NOT RUN: open files are limited to {limit} here")
        return bench
    with tempfile.TemporaryDirectory() as tmp:
        bare = bare_run(Path(tmp))
        fleet = fleet_run(Path(tmp) / "server")
    report(bench, fleet, bare)
    return bench
