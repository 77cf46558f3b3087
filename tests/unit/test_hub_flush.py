"""A busy stream is written at most once per flush interval, with everything queued."""

from __future__ import annotations

import asyncio

from infrastructure.sse.envelope import Frame
from infrastructure.sse.hub import Subscription


def frame(n: int) -> Frame:
    return Frame("worker.paused", "w1", n, f"id: {n}\n\n".encode())


async def test_a_quiet_stream_gets_its_frame_at_once_and_a_busy_one_gets_them_joined() -> None:
    sub = Subscription(100, None, None, flush_interval=0.05)
    sub.offer([frame(1)])
    loop = asyncio.get_running_loop()
    first = await sub.take()
    assert first is not None and [f.position for f in first] == [1]

    sub.offer([frame(2)])  # right after a write: wait for the interval, keep collecting
    loop.call_soon(sub.offer, [frame(3)])
    loop.call_soon(sub.offer, [frame(4)])
    started = loop.time()
    second = await sub.take()
    assert second is not None and [f.position for f in second] == [2, 3, 4]
    assert loop.time() - started >= 0.04  # one write for the three frames, one interval later


async def test_a_stream_closed_while_it_waits_ends() -> None:
    sub = Subscription(100, None, None, flush_interval=0.05)
    sub.offer([frame(1)])
    await sub.take()
    sub.offer([frame(2)])
    asyncio.get_running_loop().call_soon(sub.close)
    assert await sub.take() is None
