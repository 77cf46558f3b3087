"""Many SSE clients in their own process (for the 10,000-stream benchmark).

``python -m bench.sse_swarm HOST PORT TOKEN CLIENTS WORKERS NOTIFICATIONS`` opens
CLIENTS streams (the cheap protocol of :mod:`bench.sse_clients`), prints
``ready <seconds>`` once every one has its initial state, then waits for a line on
stdin (the commands were sent), waits until every client has every notification (or
``DRAIN_SECONDS`` pass) and prints one JSON line: latency percentiles, how many
clients got everything, frames out of order or twice, streams closed early.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from bench.sse_clients import close_all, connect_all

DRAIN_SECONDS = 30.0


def raise_file_limit() -> int:
    """Open files up to the hard limit (a socket each): the benchmark raises its own."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def swarm(
    host: str, port: int, token: str, count: int, workers: int, notifications: int
) -> dict[str, object]:
    started = time.perf_counter()
    clients, deliveries = await connect_all(host, port, token, count, workers, notifications)
    print(f"ready {time.perf_counter() - started:.2f}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # the commands were sent
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and any(c.received < notifications for c in clients):
        await asyncio.sleep(0.1)  # a finish line, not a measurement
    summary = {
        "deliveries": deliveries.count,
        "p50_ms": deliveries.percentile_ms(50),
        "p99_ms": deliveries.percentile_ms(99),
        "complete": sum(1 for c in clients if c.received == notifications),
        "out_of_order": sum(c.out_of_order for c in clients),
        "duplicates": sum(c.duplicates for c in clients),
        "closed_early": sum(1 for c in clients if c.closed.done()),
        "client_cpu": time.process_time(),
    }
    await close_all(clients)
    return summary


def main(argv: list[str]) -> None:
    host, port, token, count, workers, notifications = argv
    raise_file_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        pass
    result = asyncio.run(
        swarm(host, int(port), token, int(count), int(workers), int(notifications))
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
