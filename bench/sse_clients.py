"""Cheap SSE clients for the fan-out benchmark: raw asyncio protocols, minimal parsing.

A thousand ``httpx`` streams would cost more CPU than the server they measure, so
each client is an ``asyncio.Protocol`` that writes one GET and scans what arrives for
two byte strings only: the snapshot event name (to know the initial state is in) and
the correlation id the benchmark's commands carry, ``fanout-<n>-<monotonic ns at
send>``, from which it takes the delivery latency into a shared histogram. The
``sequence`` after it (the event's log position, also its SSE id) must grow, and no
command's notification may arrive twice.

A marker cut in two by the network is found in the next chunk: each scan runs over
the tail of the previous chunk plus the new one, and a tail one byte shorter than
its marker can never hold a whole (already counted) marker.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import cast

MARK = b'"correlationid":"fanout-'
SEQUENCE = b',"sequence":'  # follows the correlation id in the envelope: the log position
SNAPSHOT = b"event: worker.snapshot\n"
BIN_US = 100  # histogram resolution: 0.1 ms
BINS = 100_001  # up to 10 s; slower deliveries land in the last bin
BATCH = 50  # streams opened at once
CONNECT_TIMEOUT = 60.0  # per batch


def correlation_id(n: int, sent_ns: int) -> str:
    return f"fanout-{n}-{sent_ns}"


@dataclass
class Deliveries:
    """What every client of this process received, as a latency histogram."""

    histogram: list[int] = field(default_factory=lambda: [0] * BINS)
    count: int = 0
    first_ns: int = 0
    last_ns: int = 0

    def add(self, latency_ns: int, now_ns: int) -> None:
        self.histogram[min(latency_ns // (BIN_US * 1000), BINS - 1)] += 1
        self.count += 1
        self.first_ns = self.first_ns or now_ns
        self.last_ns = now_ns

    def percentile_ms(self, pct: float) -> float:
        """The latency under which ``pct`` % of deliveries fell (bin upper edge)."""
        wanted, seen = pct / 100 * self.count, 0
        for index, n in enumerate(self.histogram):
            seen += n
            if n and seen >= wanted:
                return (index + 1) * BIN_US / 1000
        return float("nan")


class SseClient(asyncio.Protocol):
    """One subscriber to ``GET /api/events`` that counts and times deliveries."""

    def __init__(
        self, request: bytes, workers: int, deliveries: Deliveries, notifications: int
    ) -> None:
        self.request = request
        self.workers = workers
        self.deliveries = deliveries
        self.seen = bytearray(notifications)
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self.snapshots = 0
        self.received = 0
        self.out_of_order = 0
        self.duplicates = 0
        self.position = -1
        self.crlf = 0  # each HTTP chunk (one server write) adds two
        self.ends_with_cr = False
        self.tail = b""
        self.snapshot_tail = b""
        self.ready = asyncio.get_running_loop().create_future()  # initial state in
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        if not self.status:
            self.status = int(data[9:12])
            if self.status != 200 and not self.ready.done():
                self.ready.set_exception(RuntimeError(f"GET /api/events: {self.status}"))
        if not self.ready.done():
            self._count_snapshots(data)
        self.crlf += data.count(b"\r\n") + (self.ends_with_cr and data[:1] == b"\n")
        self.ends_with_cr = data[-1:] == b"\r"
        self.tail = self._scan(self.tail + data, now)

    def _count_snapshots(self, data: bytes) -> None:
        buffer = self.snapshot_tail + data
        self.snapshots += buffer.count(SNAPSHOT)
        self.snapshot_tail = buffer[-(len(SNAPSHOT) - 1) :]
        if self.snapshots >= self.workers:
            self.ready.set_result(None)

    def _scan(self, buffer: bytes, now: int) -> bytes:
        """Record each complete correlation id in ``buffer``; return what to keep."""
        at = buffer.find(MARK)
        while at >= 0:
            start = at + len(MARK)
            end = buffer.find(b'"', start)
            digits = end + 1 + len(SEQUENCE)
            stop = buffer.find(b",", digits) if end >= 0 else -1
            if stop < 0:
                return buffer[at:]  # cut short: complete it with the next chunk
            n, _, sent = buffer[start:end].partition(b"-")
            position = int(buffer[digits:stop])
            self._delivered(int(n), position, now - int(sent), now)
            at = buffer.find(MARK, stop)
        return buffer[-(len(MARK) - 1) :]

    def _delivered(self, n: int, position: int, latency_ns: int, now: int) -> None:
        """A frame carrying command ``n``'s correlation id. A tag change has two
        notifications (``worker.tags.changed``, then the reactor's
        ``worker.tags.applied`` once EC2 has the tags): the first one to arrive is
        the command's delivery; any frame is a duplicate if its log position repeats
        the previous one, out of order if it goes back."""
        self.duplicates += position == self.position
        self.out_of_order += position < self.position
        self.position = max(self.position, position)
        if n >= len(self.seen) or self.seen[n]:
            return
        self.seen[n] = 1
        self.received += 1
        self.deliveries.add(latency_ns, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"stream closed early: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def writes(self) -> int:
        """Server writes so far: SSE frames hold no CR LF, chunked framing two per chunk."""
        return self.crlf // 2

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def events_request(host: str, token: str) -> bytes:
    return (
        f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()


async def connect_all(
    host: str, port: int, token: str, count: int, workers: int, notifications: int
) -> tuple[list[SseClient], Deliveries]:
    """``count`` subscribers, ``BATCH`` at a time, each with its initial state in."""
    loop = asyncio.get_running_loop()
    deliveries = Deliveries()
    request = events_request(f"{host}:{port}", token)
    clients: list[SseClient] = []
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        group = [SseClient(request, workers, deliveries, notifications) for _ in range(size)]
        clients += group
        for client in group:
            await loop.create_connection(lambda c=client: c, host, port)  # type: ignore[misc]
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await asyncio.gather(*(c.ready for c in group))
        except TimeoutError:
            ready = sum(1 for c in clients if c.ready.done())
            statuses = sorted({c.status for c in clients})
            await close_all(clients)
            message = f"{ready} of {len(clients)} streams ready; statuses {statuses}"
            raise RuntimeError(message) from None
    return clients, deliveries


async def close_all(clients: list[SseClient]) -> None:
    opened = [c for c in clients if c.transport is not None]
    for client in opened:
        client.close()
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.closed for c in opened))
