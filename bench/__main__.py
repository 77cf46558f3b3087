"""Run the benchmarks (all, or those named on the command line) and write the report.

`make bench` runs them all (about 22 minutes on 2 cores) and writes
bench/results/latest.md and latest.json; name modules to run a few:
`python -m bench bench_store bench_http_queries` (the report then holds only those).
"""

from __future__ import annotations

import importlib
import json
import sys
import time

from bench.report import RESULTS, Benchmark, Figure, write_report

ALL = (
    "bench_store",  # issue 2: raw save rate, snapshot-bounded loads
    "bench_http_commands",  # issue 2: 32 clients vs raw save rate
    "bench_http_queries",  # issue 2: 10,000 workers vs replay
    "bench_100k",  # issue 20: 100,000 workers: ready time, memory, list queries
    "bench_rebuild",  # issue 20: rebuilding the worker view from 1,000,000 events
    "bench_sse_fanout",  # issues 3, 20: 1,000 SSE clients, 100 notifications/s
    "bench_sse_10k",  # issue 20: 10,000 SSE streams on one process, memory per stream
    "bench_job_cycle",  # issue 3: metrics cycle, 1,000 / 10,000 workers, 20 ms latency
    "bench_log_growth",  # issue 3: events per idle worker per hour
    "bench_idle_cycle",  # issue 4: idle-detection cycle, 10,000 workers
    "bench_aws_cycle",  # issue 5: CloudWatch/EC2 calls per cycle on moto
    "bench_cml_calls",  # issue 5: CML calls and logins per cycle
    "bench_lab_cycle",  # issue 16: lab calls per steady cycle, 10,000 workers with lab rows
    "bench_dashboard",  # issue 6: first render, main-thread time per notification
    "bench_postgres",  # issue 7: PostgreSQL vs SQLite, cross-process delivery
    "bench_schedule_boundary",  # issue 18: a schedule boundary for 10,000 workers
    "bench_webhook_fanout",  # issue 18: 1,000 events/s to 10 webhook receivers
)


def main(names: list[str]) -> None:
    """Run ``names`` (default: all); with names, the other benchmarks of the last
    report are kept, so a single benchmark can be re-run into the same report."""
    results: list[Benchmark] = [] if not names else previous(exclude=names)
    for name in names or ALL:
        print(f"\n== {name}", flush=True)
        start = time.perf_counter()
        bench = importlib.import_module(f"bench.{name}").run()
        bench.module = name
        results = [r for r in results if r.module != name] + [bench]
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
        write_report(results)  # after each one, so an interrupted run keeps what it measured
    print("\nreport: bench/results/latest.md", flush=True)


def previous(exclude: list[str]) -> list[Benchmark]:
    path = RESULTS / "latest.json"
    if not path.exists():
        return []
    kept = []
    for data in json.loads(path.read_text())["benchmarks"]:
        if data.get("module") in exclude:
            continue
        figures = [Figure(**f) for f in data.pop("figures")]
        kept.append(Benchmark(**data, figures=figures))
    return kept


if __name__ == "__main__":
    main(sys.argv[1:])
