"""Webhook receivers for the fan-out benchmark: ``count`` HTTP/1.1 keep-alive servers on
127.0.0.1 in one asyncio process (``python -m bench.webhook_receivers 10``), each
answering 200 to every POST and counting the events it takes (a CloudEvent, or a batch
of them) with each one's lag (arrival minus the event's ``time``). ``GET /stats`` on
any of them gives every receiver's counts and lags as JSON. Prints its ports first."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from typing import Any

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class Counts:
    def __init__(self, count: int) -> None:
        self.events = [0] * count
        self.requests = [0] * count
        self.lags: list[list[float]] = [[] for _ in range(count)]

    def take(self, index: int, body: bytes) -> None:
        now = time.time()
        parsed = json.loads(body)
        events = parsed if isinstance(parsed, list) else [parsed]
        self.requests[index] += 1
        self.events[index] += len(events)
        times: dict[str, float] = {}
        for event in events:
            stamp = event["time"]
            if stamp not in times:
                times[stamp] = datetime.fromisoformat(stamp).timestamp()
            self.lags[index].append(now - times[stamp])

    def stats(self) -> dict[str, Any]:
        return {"events": self.events, "requests": self.requests, "lags": self.lags}


async def serve(counts: Counts, index: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if head.startswith(b"GET /stats"):
                    data = json.dumps(counts.stats()).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\n\r\n" % len(data) + data)  # fmt: skip
                else:
                    counts.take(index, body)
                    writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def main(count: int) -> None:
    counts = Counts(count)
    servers = [await serve(counts, i) for i in range(count)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
