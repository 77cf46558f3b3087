"""A small keep-alive HTTP/1.1 load generator on raw asyncio streams.

httpx costs more CPU per request than the server under test; on a 2-core machine the
client must stay cheap, so requests are written by hand and responses parsed minimally.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def request_bytes(method: str, path: str, host: str, token: str, body: object | None) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def run_load(
    host: str,
    port: int,
    clients: int,
    seconds: float,
    make_request: Callable[[int, int], bytes],
    max_requests: int = 200_000,
) -> LoadResult:
    """``clients`` connections, each sending ``make_request(client, n)`` back to back."""
    result = LoadResult()
    deadline = time.perf_counter() + seconds
    sent = 0

    async def client(index: int) -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(host, port)
        n = 0
        try:
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                start = time.perf_counter()
                writer.write(make_request(index, n))
                status, _ = await read_response(reader)
                result.latencies_ms.append((time.perf_counter() - start) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                n += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    result.seconds = time.perf_counter() - start
    return result
