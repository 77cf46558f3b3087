"""The fan-out benchmark's source of notifications: tag changes at a steady rate.

Open loop: the n-th ``PATCH /api/workers/{id}/tags`` is due at ``n / rate`` seconds
and goes out then on any idle keep-alive connection of a pool, whether or not earlier
ones have been answered, so a slow server does not lower the offered rate (unless
every connection is busy; the achieved rate is reported). Each command's correlation
id carries its number and the monotonic time it was sent, which the notification
repeats to every subscriber.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import read_response
from bench.server import Server
from bench.sse_clients import correlation_id

CONNECTIONS = 100  # commands in flight at most: a second's worth at 100/s


@dataclass
class Driven:
    """The commands sent: their latencies, statuses and how long sending took."""

    start_ns: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


def patch_request(server: Server, worker_id: str, label: str, n: int, sent_ns: int) -> bytes:
    """A tag change that is a real change: each ``(label, n)`` is a new tag value."""
    body = json.dumps({"add": {"fanout": f"{label}-{n}"}}).encode()
    head = (
        f"PATCH /api/workers/{worker_id}/tags HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Authorization: Bearer {server.token}\r\n"
        f"X-Correlation-ID: {correlation_id(n, sent_ns)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def drive(server: Server, ids: list[str], count: int, rate: float, label: str) -> Driven:
    """``count`` tag changes at ``rate``/s, on workers in turn (never one twice at once).

    The pool holds a second's worth of connections (at least 4): each is then used
    about once a second, well within the server's keep-alive timeout (5 s)."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(max(4, min(CONNECTIONS, int(rate)))):
        pool.put_nowait(await asyncio.open_connection(server.host, server.port))
    result = Driven(time.monotonic_ns())
    start = time.monotonic()

    async def send(n: int) -> None:
        reader, writer = connection = await pool.get()
        sent = time.monotonic_ns()
        writer.write(patch_request(server, ids[n % len(ids)], label, n, sent))
        status, _ = await read_response(reader)
        result.latencies_ms.append((time.monotonic_ns() - sent) / 1e6)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        pool.put_nowait(connection)

    try:
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(send(n)))
        await asyncio.gather(*tasks)
        result.seconds = time.monotonic() - start
    finally:
        while not pool.empty():
            pool.get_nowait()[1].close()
    return result


def server_pid() -> int:
    """The ``cml-fleet serve`` child of this process."""
    me = os.getpid()
    children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
    for pid in children:
        if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise RuntimeError("server process not found")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
