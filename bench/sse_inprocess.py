"""The fan-out benchmark's in-process baseline: the real ``Hub`` and 1,000 subscribers,
each notification encoded once (what the hub does) or once per subscriber (naive).

Each round queues 100 tag-change notifications for every subscriber, then drains
every queue as a stream would (all queued frames joined into one write), so both
ways pay the same queueing and draining and differ only in the encoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bench.bench_store import new_worker
from domain.cause import Cause
from infrastructure.fanout.hub import Hub, Subscription, frame_of
from infrastructure.read_model.projected import ProjectedEvent
from infrastructure.shared.clock import FakeClock

ROUND = 100
CAUSE = Cause("bench", "fanout-0-0")
Deliver = Callable[[Hub, Sequence[Subscription], ProjectedEvent], None]


def tag_events(count: int) -> list[ProjectedEvent]:
    """``count`` stored-like TagsChanged events of one worker, with its facts."""
    worker = new_worker(1)
    for n in range(count):
        worker.change_tags({"fanout": str(n)}, (), cause=CAUSE)
    events = worker.collect_events()[1:]  # after the import
    return [ProjectedEvent.of(1000 + n, e, worker) for n, e in enumerate(events)]  # type: ignore[arg-type]


def encode_once(hub: Hub, subscribers: Sequence[Subscription], projected: ProjectedEvent) -> None:
    hub.publish([frame_of(projected)])  # the hub: encoded in on_batch, queued for everyone


def encode_per_subscriber(
    hub: Hub, subscribers: Sequence[Subscription], projected: ProjectedEvent
) -> None:
    for subscription in subscribers:
        frame = frame_of(projected)
        if subscription.wants(frame.type, frame.worker_id):
            subscription.offer([frame])
            subscription.wake()  # what the hub does for a subscriber with no flush interval


async def deliveries_per_second(deliver: Deliver, subscribers: int, seconds: float) -> float:
    """Notifications delivered to subscriber queues and drained, per second."""
    hub = Hub(None, FakeClock(), queue_size=ROUND)
    hub.start()
    queues = [hub.subscribe() for _ in range(subscribers)]
    events = tag_events(ROUND)
    sent, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for projected in events:
            deliver(hub, queues, projected)
        for subscription in queues:
            frames = await subscription.take()
            assert frames is not None and len(frames) == ROUND
            b"".join(f.data for f in frames)
        sent += ROUND
    elapsed = time.perf_counter() - start
    hub.stop()
    return sent * subscribers / elapsed
