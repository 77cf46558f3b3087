"""Run the benchmarks (all, or those named on the command line) and write the report."""

from __future__ import annotations

import importlib
import sys
import time

from bench.report import Benchmark, write_report

ALL = (
    "bench_store",
    "bench_http_commands",
    "bench_http_queries",
)


def main(names: list[str]) -> None:
    results: list[Benchmark] = []
    for name in names or ALL:
        print(f"\n== {name}", flush=True)
        start = time.perf_counter()
        results.append(importlib.import_module(f"bench.{name}").run())
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    write_report(results)
    print("\nreport: bench/results/latest.md", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
