"""When streams write: a quiet one at once; a busy one at most once per flush interval,
with everything queued; busy ones spread over the interval rather than all at once."""

from __future__ import annotations

import asyncio
import itertools

from infrastructure.fanout.envelope import Frame
from infrastructure.fanout.hub import FlushWheel, Hub

INTERVAL = 0.1


def frame(n: int) -> Frame:
    return Frame("worker.paused", "w1", n, f"id: {n}\n\n".encode())


def started_hub(clock, interval: float = INTERVAL) -> Hub:
    hub = Hub(None, clock, queue_size=1000, flush_interval=interval)
    hub.start()
    return hub


async def test_a_quiet_stream_gets_its_frame_at_once_and_a_busy_one_gets_them_joined(
    clock,
) -> None:
    hub = started_hub(clock)
    sub = hub.subscribe()
    loop = asyncio.get_running_loop()
    hub.publish([frame(1)])
    started = loop.time()
    first = await sub.take()
    assert first is not None and [f.position for f in first] == [1]
    assert sub.last_write - started < INTERVAL / 2  # no wait for a quiet stream

    first_write = sub.last_write
    hub.publish([frame(2)])  # right after a write: wait for its slot, keep collecting
    loop.call_soon(hub.publish, [frame(3)])
    loop.call_soon(hub.publish, [frame(4)])
    second = await sub.take()
    assert second is not None and [f.position for f in second] == [2, 3, 4]
    assert sub.last_write - first_write <= INTERVAL * 1.5  # within about an interval
    hub.stop()


async def test_a_busy_stream_writes_at_most_once_per_interval(clock) -> None:
    hub = started_hub(clock)
    sub = hub.subscribe()
    loop = asyncio.get_running_loop()
    writes: list[tuple[float, int]] = []

    async def consume() -> None:
        received = 0
        while received < 100 and (frames := await sub.take()) is not None:
            writes.append((loop.time(), len(frames)))
            received += len(frames)

    consumer = asyncio.create_task(consume())
    for n in range(100):  # a frame every INTERVAL / 20, for five intervals
        hub.publish([frame(n)])
        await asyncio.sleep(INTERVAL / 20)  # the producer's pace, not a wait for a result
    await asyncio.wait_for(consumer, 2 * INTERVAL)  # the last ones come in their slot
    hub.stop()
    times = [t for t, _ in writes]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 3 <= len(writes) <= 9, writes  # ~5 intervals: one write each, not 100
    # the first write is at once (quiet), the second at its slot; then one per interval
    assert all(gap >= INTERVAL * 0.9 for gap in gaps[1:]), gaps
    assert sum(count for _, count in writes) == 100  # frames joined, none lost


async def test_busy_streams_are_spread_over_the_interval(clock) -> None:
    hub = started_hub(clock)
    subs = [hub.subscribe() for _ in range(FlushWheel.SLOTS * 3)]
    loop = asyncio.get_running_loop()
    hub.publish([frame(1)])  # all quiet: everyone writes at once
    for sub in subs:
        await sub.take()
    hub.publish([frame(2)])  # now busy: each waits for its own slot
    woken: list[float] = []

    async def take(sub) -> None:
        assert await sub.take() is not None
        woken.append(loop.time())

    await asyncio.wait_for(asyncio.gather(*(take(s) for s in subs)), 2 * INTERVAL + 1)
    spread = max(woken) - min(woken)
    assert spread >= INTERVAL / 2  # not one burst
    assert len({round(t, 3) for t in woken}) >= FlushWheel.SLOTS // 2
    hub.stop()


async def test_a_stream_closed_while_it_waits_for_its_slot_ends(clock) -> None:
    hub = started_hub(clock)
    sub = hub.subscribe()
    hub.publish([frame(1)])
    await sub.take()
    hub.publish([frame(2)])
    asyncio.get_running_loop().call_soon(sub.close)
    assert await sub.take() is None
    hub.stop()


async def test_without_an_interval_every_frame_is_written_at_once(clock) -> None:
    hub = started_hub(clock, interval=0)
    sub = hub.subscribe()
    for n in (1, 2):
        hub.publish([frame(n)])
        frames = await asyncio.wait_for(sub.take(), INTERVAL)
        assert frames is not None and [f.position for f in frames] == [n]
    hub.stop()
