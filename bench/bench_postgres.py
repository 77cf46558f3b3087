"""PostgreSQL scale-out (issue 7): command throughput on PostgreSQL vs SQLite under the same
load, and, with three processes on one database, how fast a command made on one process
reaches an SSE client connected to another.

Load: 32 keep-alive clients sending ``PATCH /api/workers/{id}/tags`` (one event per
command, each client on its own workers) to real ``cml-fleet serve`` processes on
127.0.0.1 — one on SQLite, one on PostgreSQL, then three on PostgreSQL sharing the load.
Latency: sequential commands to process A; two SSE clients, one on A (same process: the
baseline) and one on C (another process: the log is followed there through LISTEN/NOTIFY).
Needs PostgreSQL on 127.0.0.1:5432 (``CML_FLEET_BENCH_POSTGRES_DSN``); a fresh database is
created and dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.bench_http_commands import seed
from bench.bench_store import CAUSE, new_worker
from bench.loadgen import LoadResult, request_bytes, run_load
from bench.report import Benchmark, Figure, median, percentile
from bench.server import CLI, Server, _wait_for_port, _wait_ready, env_for
from infrastructure.shared.postgres.schema import event_tables
from infrastructure.shared.settings import Settings
from infrastructure.store.postgres import init_schema
from infrastructure.wiring.bootstrap import bootstrap

ADMIN_DSN = os.environ.get(
    "CML_FLEET_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CLIENTS = 32
WORKERS_PER_CLIENT = 4
SECONDS = 8.0
LATENCY_COMMANDS = 300


# ------------------------------------------------------------------ servers


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"cmlfleet_bench_{uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(ADMIN_DSN, dbname=name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def pg_env(data_dir: Path, dsn: str) -> dict[str, str]:
    return env_for(data_dir, persistence="postgres", postgres_dsn=dsn)


def token(env: dict[str, str]) -> str:
    out = subprocess.run(
        [*CLI, "token", "create", "--role", "admin", "--name", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()[0]


@contextmanager
def serving(env: dict[str, str], secret: str) -> Iterator[Server]:
    """``cml-fleet serve`` on a free port with ``env``; terminated afterwards."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        server = Server("127.0.0.1", _wait_for_port(proc), secret)
        _wait_ready(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def seed_postgres(data_dir: Path, dsn: str, count: int) -> list[str]:
    settings = Settings(persistence="postgres", postgres_dsn=dsn, data_dir=data_dir, demo_workers=0)
    init_schema(settings)
    system = bootstrap(settings)
    workers = [new_worker(i) for i in range(count)]
    system.store.save(*workers)
    system.close()
    return [str(w.id) for w in workers]


# --------------------------------------------------------------------- load


def tag_load(servers: Sequence[Server], ids: Sequence[str]) -> LoadResult:
    """The same command load, its clients spread over ``servers``."""
    per_server = CLIENTS // len(servers)

    async def all_loads() -> list[LoadResult]:
        loads = []
        for k, server in enumerate(servers):
            host = f"{server.host}:{server.port}"

            def make(client: int, n: int, k: int = k, host: str = host, token: str = server.token):
                worker = ids[
                    (k * per_server + client) * WORKERS_PER_CLIENT + n % WORKERS_PER_CLIENT
                ]
                body = {"add": {"bench": f"{client}-{n}"}}
                return request_bytes("PATCH", f"/api/workers/{worker}/tags", host, token, body)

            loads.append(run_load(server.host, server.port, per_server, SECONDS, make))
        return list(await asyncio.gather(*loads))

    results = asyncio.run(all_loads())
    merged = LoadResult(seconds=max(r.seconds for r in results))
    for result in results:
        merged.latencies_ms += result.latencies_ms
        for status, n in result.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + n
    return merged


def ok_rate(result: LoadResult) -> float:
    return result.statuses.get(200, 0) / result.seconds


# ------------------------------------------------- where the time goes (issue 20)


@dataclass
class Usage:
    """What one load cost: PostgreSQL commits and stored events, and CPU seconds of the
    cml-fleet processes and of PostgreSQL's, over ``seconds`` of wall time."""

    commits: int = 0
    events: int = 0
    fleet_cpu: float = 0.0
    postgres_cpu: float = 0.0
    seconds: float = 0.0

    @property
    def events_per_commit(self) -> float:
        return self.events / self.commits if self.commits else 0.0


def _cpu_of(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _pids(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _counters(dsn: str) -> tuple[int, int]:
    """(commits in this database, events stored) so far."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        table = sql.Identifier(Settings().postgres_schema, event_tables()[0])
        events = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
    return int(row[0] if row else 0), int(events[0] if events else 0)


@contextmanager
def measured(dsn: str, usage: Usage) -> Iterator[None]:
    """Fill ``usage`` with what the block cost."""
    fleet, postgres = _pids("cml-fleet|wiring.cli import main"), _pids("postgres")
    commits, events = _counters(dsn)
    cpu_fleet, cpu_pg, started = _cpu_of(fleet), _cpu_of(postgres), time.perf_counter()
    yield
    usage.seconds = time.perf_counter() - started
    usage.fleet_cpu = _cpu_of(fleet) - cpu_fleet
    usage.postgres_cpu = _cpu_of(postgres) - cpu_pg
    commits_after, events_after = _counters(dsn)
    usage.commits, usage.events = commits_after - commits, events_after - events


def raw_commit_rate(dsn: str, data_dir: Path, ids: Sequence[str], per_commit: int) -> float:
    """Events/s the store itself commits on this database, 4 threads saving
    ``per_commit`` workers' tag changes per transaction (no HTTP, no read model): the
    ceiling of the log's writes, serialised by the recorder's table lock."""
    settings = Settings(persistence="postgres", postgres_dsn=dsn, data_dir=data_dir,
                        demo_workers=0)  # fmt: skip
    system = bootstrap(settings)
    done = [0] * 4
    stop = time.perf_counter() + SECONDS / 2

    def saving(k: int) -> None:
        mine = [UUID(i) for i in ids[k::4]]
        n = 0
        while time.perf_counter() < stop:
            batch = [mine[(n + j) % len(mine)] for j in range(per_commit)]
            workers = [system.store.get(w) for w in batch]
            for worker in workers:
                worker.change_tags({"raw": str(n)}, (), cause=CAUSE)
            system.store.save(*workers)
            done[k] += per_commit
            n += per_commit

    started = time.perf_counter()
    threads = [threading.Thread(target=saving, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(done) / (time.perf_counter() - started)
    system.close()
    return rate


# ------------------------------------------------------------------ latency


class Arrivals:
    """An SSE client in a thread: when each stored event's frame arrived."""

    def __init__(self, server: Server) -> None:
        self.at: dict[int, float] = {}
        self.ready = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=60))
        self._url = f"{server.url}/api/events"
        self._headers = {"Authorization": f"Bearer {server.token}"}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._url, headers=self._headers) as response:
                for line in response.iter_lines():
                    if line.startswith("event: hello"):
                        self.ready.set()
                    elif line.startswith("id: "):
                        self.at[int(line[4:])] = time.perf_counter()
        except httpx.HTTPError:
            return

    def close(self) -> None:
        self._client.close()
        self._thread.join(5)


def delivery_ms(
    sender: Server, near: Server, far: Server, ids: Sequence[str]
) -> dict[str, list[float]]:
    """Sequential commands to ``sender``; ms from each sent to its frame at each client."""
    streams = {"same process": Arrivals(near), "another process": Arrivals(far)}
    for stream in streams.values():
        stream.ready.wait(30)
    sent: dict[int, float] = {}
    with sender.client() as client:
        for n in range(LATENCY_COMMANDS):
            started = time.perf_counter()
            answer = client.patch(
                f"/api/workers/{ids[n % len(ids)]}/tags", json={"add": {"n": str(n)}}
            )
            sent[answer.json()["position"]] = started
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and any(
        not set(sent) <= set(s.at) for s in streams.values()
    ):
        time.sleep(0.05)  # let the last frames arrive
    for stream in streams.values():
        stream.close()
    return {
        name: [(s.at[p] - t) * 1000 for p, t in sent.items() if p in s.at]
        for name, s in streams.items()
    }


# ---------------------------------------------------------------------- run


def run() -> Benchmark:
    bench = Benchmark(
        "PostgreSQL scale-out (issues 7, 20)",
        f"{CLIENTS} keep-alive clients, PATCH tags (one event per command), {SECONDS:.0f} s, "
        "against `cml-fleet serve` on SQLite, on PostgreSQL, and as 3 processes on one "
        "PostgreSQL database; then delivery latency of sequential commands on process A "
        "to an SSE client on process A (baseline) and on process C (LISTEN/NOTIFY).",
    )
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            pass
    except psycopg.Error as error:
        bench.note(f"skipped: PostgreSQL not reachable ({type(error).__name__})")
        return bench
    usage = {"one": Usage(), "three": Usage()}
    with tempfile.TemporaryDirectory() as tmp, fresh_database() as dsn:
        count = CLIENTS * WORKERS_PER_CLIENT
        lite_dir, pg_dir = Path(tmp) / "sqlite", Path(tmp) / "pg"
        lite_ids = seed(lite_dir, count)
        pg_ids = seed_postgres(pg_dir, dsn, count)
        with serving(env_for(lite_dir), token(env_for(lite_dir))) as server:
            lite = tag_load([server], lite_ids)
        secret = token(pg_env(pg_dir, dsn))
        with serving(pg_env(pg_dir / "one", dsn), secret) as server, measured(dsn, usage["one"]):
            one = tag_load([server], pg_ids)
        with ExitStack() as stack:
            nodes = [
                stack.enter_context(serving(pg_env(pg_dir / f"n{k}", dsn), secret))
                for k in range(3)
            ]
            with measured(dsn, usage["three"]):
                three = tag_load(nodes, pg_ids)
            settle = operations_settled(nodes)
            latency = delivery_ms(nodes[0], nodes[0], nodes[2], pg_ids)
        raw = {n: raw_commit_rate(dsn, pg_dir / f"raw{n}", pg_ids, n) for n in (1, 16)}
    report(bench, lite, one, three, latency)
    explain(bench, one, three, usage, raw)
    bench.note(
        f"the latency is measured once the leader had carried out the load's tag operations "
        f"({settle:.1f} s after the load): until then it shares the processes with them"
    )
    return bench


def operations_settled(nodes: Sequence[Server], limit: float = 120.0) -> float:
    """Seconds until no process has an operation in flight (the leader's reactor has
    carried out what the load requested), seen twice in a row."""
    started = time.perf_counter()
    quiet = 0
    while quiet < 2 and time.perf_counter() - started < limit:
        busy = 0.0
        for node in nodes:
            with node.client() as client:
                for line in client.get("/metrics").text.splitlines():
                    if line.startswith("cml_fleet_operations_in_flight "):
                        busy += float(line.split()[1])
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.5)  # a poll of the processes' metrics, not a wait for timing
    return time.perf_counter() - started


def explain(
    bench: Benchmark,
    one: LoadResult,
    three: LoadResult,
    usage: dict[str, Usage],
    raw: dict[int, float],
) -> None:
    """Issue 20, target 4: the scale-out ratio, and what bounds each mode."""
    ratio = ok_rate(three) / ok_rate(one)
    bench.add(
        Figure(
            "3 processes / 1 process, command rate",
            100 * ratio,
            "%",
            target="≥ 100 % (issue 20)",
            met=ratio >= 1.0,
        )
    )
    cores = os.cpu_count() or 1
    for name, used in usage.items():
        label = "1 process" if name == "one" else "3 processes"
        busy = (used.fleet_cpu + used.postgres_cpu) / used.seconds if used.seconds else 0.0
        bench.add(Figure(f"{label}: events per PostgreSQL commit", used.events_per_commit, ""))
        bench.add(
            Figure(
                f"{label}: CPU used of the machine's {cores} cores",
                100 * busy / cores,
                "%",
            )
        )
        bench.note(
            f"{label}: {used.commits:,} commits, {used.events:,} events in {used.seconds:.1f} s;"
            f" CPU: cml-fleet {used.fleet_cpu / used.seconds:.2f} cores, PostgreSQL "
            f"{used.postgres_cpu / used.seconds:.2f} cores"
        )
    for per_commit, rate in raw.items():
        bench.add(
            Figure(
                f"the store alone, {per_commit} event(s) per commit, 4 threads",
                rate,
                "events/s",
                baseline_label="the log's write ceiling here (table lock, WAL flush)",
            )
        )


def report(
    bench: Benchmark,
    lite: LoadResult,
    one: LoadResult,
    three: LoadResult,
    latency: dict[str, list[float]],
) -> None:
    bench.note(
        "statuses: "
        + json.dumps({"sqlite": lite.statuses, "postgres": one.statuses, "3 x pg": three.statuses})
    )
    sqlite_rate = ok_rate(lite)
    for name, result in (("1 process", one), ("3 processes", three)):
        rate = ok_rate(result)
        bench.add(
            Figure(
                f"commands on PostgreSQL, {name}",
                rate,
                "commands/s",
                baseline=sqlite_rate,
                baseline_label="1 process on SQLite, same load",
            )
        )
        bench.add(Figure(f"share of the SQLite rate, {name}", 100 * rate / sqlite_rate, "%"))
        bench.add(Figure(f"latency p50, PostgreSQL {name}", median(result.latencies_ms), "ms"))
        bench.add(
            Figure(f"latency p99, PostgreSQL {name}", percentile(result.latencies_ms, 99), "ms")
        )
    near, far = latency["same process"], latency["another process"]
    bench.note(f"delivered {len(far)} of {LATENCY_COMMANDS} commands to the other process")
    for pct, label in ((50, "p50"), (99, "p99")):
        value = percentile(far, pct)
        bench.add(
            Figure(
                f"command → SSE frame on another process, {label}",
                value,
                "ms",
                baseline=percentile(near, pct),
                baseline_label="SSE client on the same process",
                target="≤ 50 ms (issue 20)" if pct == 99 else "",
                met=value <= 50 if pct == 99 else None,
            )
        )
    added = median(far) - median(near)
    bench.add(Figure("added by crossing processes (LISTEN/NOTIFY), p50", added, "ms"))


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
