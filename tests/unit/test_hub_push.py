"""Pushed streams: the hub writes queued frames straight to the connection's writer;
a client that stops reading is cut; quiet streams get heartbeats; the flush interval
adapts to the number of subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from infrastructure.fanout.envelope import Frame
from infrastructure.fanout.hub import PING, Hub
from infrastructure.fanout.subscription import HIGH_WATER, MOST_BUFFERED, FlushWheel


class FakeWriter:
    """A connection: what was written, what the client has not read yet, whether it is
    gone."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.unread = 0
        self.reading = True
        self.gone = False
        self.callbacks: list[Callable[[], object]] = []

    def write(self, data: bytes) -> int | None:
        if self.gone:
            return None
        self.chunks.append(data)
        if not self.reading:
            self.unread += len(data)
        return self.unread

    def held(self) -> int | None:
        return None if self.gone else self.unread

    def on_end(self, callback: Callable[[], object]) -> None:
        self.callbacks.append(callback)

    def lose(self) -> None:
        self.gone = True
        for callback in self.callbacks:
            callback()


def frame(n: int, size: int = 10) -> Frame:
    return Frame("worker.paused", "w1", n, b"x" * size)


def started_hub(clock, **options) -> Hub:
    hub = Hub(None, clock, queue_size=1000, **options)
    hub.start()
    return hub


async def test_a_pushed_stream_is_written_at_once_without_its_task(clock) -> None:
    hub = started_hub(clock)
    sub, writer = hub.subscribe(), FakeWriter()
    hub.publish([frame(1)])  # queued while the stream sends its initial state
    sub.floor = 0
    sub.attach(writer, send_timeout=1.0)
    assert writer.chunks == [frame(1).data]  # what was queued goes out on attaching
    hub.publish([frame(2), frame(3)])
    assert writer.chunks[-1] == frame(2).data + frame(3).data  # one write, joined
    hub.stop()


async def test_frames_already_in_the_initial_state_are_not_pushed_again(clock) -> None:
    hub = started_hub(clock)
    sub, writer = hub.subscribe(), FakeWriter()
    hub.publish([frame(1), frame(2), frame(3)])
    sub.floor = 2  # the initial state was read at position 2
    sub.attach(writer, send_timeout=1.0)
    assert writer.chunks == [frame(3).data]
    hub.stop()


async def test_a_client_that_stops_reading_is_cut_after_the_send_timeout(clock) -> None:
    hub = started_hub(clock)
    sub, healthy = hub.subscribe(), hub.subscribe()
    writer, other = FakeWriter(), FakeWriter()
    sub.attach(writer, send_timeout=0.2)
    healthy.attach(other, send_timeout=0.2)
    writer.reading = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    n = 0
    while not sub.closed and loop.time() - started < 5:
        n += 1
        hub.publish([frame(n, HIGH_WATER // 4)])
        await asyncio.sleep(0.02)  # the publisher's pace
    assert sub.closed and sub.stuck and hub.cut_off == 1
    assert 0.2 <= loop.time() - started < 2  # after the timeout, not at once
    assert not healthy.closed and len(other.chunks) == n  # the other one is untouched
    hub.stop()


async def test_a_client_reading_nothing_that_comes_to_hold_too_much_is_cut_at_once(clock) -> None:
    hub = started_hub(clock)
    sub, writer = hub.subscribe(), FakeWriter()
    sub.attach(writer, send_timeout=60)
    writer.reading = False
    hub.publish([frame(1, HIGH_WATER * 2)])
    assert not sub.closed  # behind, for now
    hub.publish([frame(2, MOST_BUFFERED)])
    assert sub.closed and sub.stuck and hub.cut_off == 1
    hub.stop()


async def test_one_write_bigger_than_the_most_held_is_left_to_drain(clock) -> None:
    """A whole big fleet's snapshots (18 MB for 10,000 workers) in one write to a
    client that is reading them: it gets the send timeout, like any backlog, and the
    frames after it do not cut it while it reads."""
    hub = started_hub(clock)
    sub, writer = hub.subscribe(), FakeWriter()
    sub.attach(writer, send_timeout=60)
    writer.reading = False
    hub.publish([frame(1, MOST_BUFFERED * 2)])
    assert not sub.closed
    writer.unread -= HIGH_WATER  # the client reads some
    hub.publish([frame(2, 100)])
    assert not sub.closed and hub.cut_off == 0
    writer.unread, writer.reading = 0, True  # and the rest
    hub.publish([frame(3)])
    assert not sub.closed and sub.backlog_since is None
    hub.stop()


async def test_a_stalled_client_with_nothing_new_is_still_cut(clock) -> None:
    """No frame comes after the client stopped reading: the hub's sweep finds it."""
    hub = started_hub(clock, heartbeat=0.2)
    sub, writer = hub.subscribe(), FakeWriter()
    sub.attach(writer, send_timeout=0.3)
    writer.reading = False
    hub.publish([frame(1, HIGH_WATER * 2)])
    assert not sub.closed
    await asyncio.wait_for(sub.ended(), 3)
    assert sub.stuck and hub.cut_off == 1
    hub.stop()


async def test_a_lost_connection_ends_the_stream(clock) -> None:
    hub = started_hub(clock)
    sub, writer = hub.subscribe(), FakeWriter()
    sub.attach(writer, send_timeout=1.0)
    ended = asyncio.create_task(sub.ended())
    writer.lose()
    await asyncio.wait_for(ended, 1)
    assert sub.closed and not sub.stuck and hub.cut_off == 0
    hub.stop()


async def test_a_busy_stream_gets_no_heartbeat_and_a_quiet_one_does(clock) -> None:
    hub = started_hub(clock, heartbeat=0.2)
    sub, writer = hub.subscribe(), FakeWriter()
    sub.attach(writer, 1.0)
    loop = asyncio.get_running_loop()
    started, n = loop.time(), 0
    while loop.time() - started < 1.0:  # five heartbeats' time, a frame every 50 ms
        n += 1
        hub.publish([frame(n)])
        await asyncio.sleep(0.05)  # the publisher's pace
    assert b"".join(writer.chunks).count(PING.data) == 0
    written = len(writer.chunks)
    await asyncio.sleep(0.7)  # then three heartbeats' time with nothing to send
    pings = b"".join(writer.chunks[written:]).count(PING.data)
    assert 2 <= pings <= 4, pings
    hub.stop()


def test_the_flush_interval_grows_with_subscribers_up_to_its_ceiling() -> None:
    wheel = FlushWheel(0.5, writes_per_second=20_000)
    sizes = {}
    for subscribers in (1, 100, 1_000, 5_000, 10_000, 50_000):
        wheel.resize(subscribers)
        sizes[subscribers] = wheel.interval
    assert sizes[1] < 0.001  # one stream: written almost at once
    assert sizes[1_000] == 0.05  # a thousand: 20 writes per second each
    assert sizes[10_000] == sizes[50_000] == 0.5  # never more than the ceiling
    assert list(sizes.values()) == sorted(sizes.values())
    fixed = FlushWheel(0.2)
    fixed.resize(10_000)
    assert fixed.interval == 0.2


async def test_the_hub_adapts_its_interval_as_streams_come_and_go(clock) -> None:
    hub = started_hub(clock, flush_interval=0.5, writes_per_second=100)
    subs = [hub.subscribe() for _ in range(10)]
    assert hub.flush_interval == 0.1
    for sub in subs[5:]:
        hub.unsubscribe(sub)
    assert hub.flush_interval == 0.05
    hub.stop()


async def test_a_stream_that_just_sent_its_initial_state_gets_no_heartbeat_at_once(clock) -> None:
    hub = started_hub(clock, heartbeat=0.4)
    sub, writer = hub.subscribe(), FakeWriter()
    await asyncio.sleep(0.25)  # the initial state takes a while to read and send
    sub.attach(writer, 1.0)
    await asyncio.sleep(0.3)  # the sweep runs (every 0.2 s): under a heartbeat since attaching
    assert writer.chunks == []
    hub.stop()
