"""The hub fans frames out to subscribers: encoded once, bounded queues, slow ones cut off."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from application.mapper import map_worker_to_dto
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.worker import CMLWorker
from infrastructure.fanout.envelope import Frame
from infrastructure.fanout.hub import Hub, frame_of
from infrastructure.read_model import ProjectedEvent

CAUSE = Cause("alice", "c-1")


class FakeReadModel:
    """The read model's listener port: listeners called with committed batches."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Sequence[Any]], object]] = []

    def add_listener(self, listener: Callable[[Sequence[Any]], object]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def commit(self, batch: Sequence[ProjectedEvent]) -> None:
        """What the projection thread does after committing a batch."""
        for listener in self.listeners:
            listener(batch)


def worker_life(name: str = "lab-1") -> list[ProjectedEvent]:
    """Projected events of one worker: imported, paused, stopped."""
    worker = lived(name)
    return [ProjectedEvent.of(i + 1, e, worker) for i, e in enumerate(worker.collect_events())]


def lived(name: str) -> CMLWorker:
    """A worker imported, paused and stopped (its events still pending)."""
    worker = CMLWorker.import_instance(
        WorkerSpec(name=name, region="eu-west-1", instance_type="c5.2xlarge"),
        instance_id="i-0123456789abcdef0",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    worker.pause(PauseReason.MANUAL, at=worker.created_on, cause=CAUSE)
    worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    return worker


class CountingEncoder:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, projected: Any) -> Frame:
        self.calls += 1
        return frame_of(projected)


@pytest.fixture
def read_model() -> FakeReadModel:
    return FakeReadModel()


@pytest.fixture
async def hub(read_model, clock):
    hub = Hub(read_model, clock, queue_size=100)
    hub.start()
    yield hub
    hub.stop()


async def from_projection_thread(read_model: FakeReadModel, batch: list[ProjectedEvent]) -> None:
    thread = threading.Thread(target=read_model.commit, args=(batch,))
    thread.start()
    await asyncio.to_thread(thread.join)


async def test_each_frame_is_encoded_once_however_many_subscribers(read_model, clock) -> None:
    encoder = CountingEncoder()
    hub = Hub(read_model, clock, queue_size=100, to_frame=encoder)
    hub.start()
    subscribers = [hub.subscribe() for _ in range(50)]
    await from_projection_thread(read_model, worker_life())
    received = [await asyncio.wait_for(s.take(), 1) for s in subscribers]
    assert encoder.calls == 3
    first = received[0]
    assert all(a is b for frames in received for a, b in zip(frames, first, strict=True))
    hub.stop()


async def test_frames_arrive_in_log_order_with_the_position_as_sse_id(hub, read_model) -> None:
    subscriber = hub.subscribe()
    await from_projection_thread(read_model, worker_life())
    frames = await asyncio.wait_for(subscriber.take(), 1)
    text = b"".join(f.data for f in frames).decode()
    assert [f.type for f in frames] == ["worker.imported", "worker.paused", "worker.status.changed"]
    assert text.startswith("event: worker.imported\nid: 1\ndata: {")
    assert [f.position for f in frames] == [1, 2, 3]


async def test_frames_queued_while_the_subscriber_was_busy_come_out_together(hub) -> None:
    subscriber = hub.subscribe()
    life = worker_life()
    for projected in life:  # three separate batches, nobody reading in between
        hub.publish([frame_of(projected)])
    frames = await subscriber.take()
    assert [f.position for f in frames] == [1, 2, 3]


async def test_a_subscriber_that_falls_behind_is_cut_off_and_the_others_are_not(hub) -> None:
    slow = hub.subscribe(capacity=2)
    fast = hub.subscribe(capacity=2)
    life = worker_life()
    for projected in life:
        hub.publish([frame_of(projected)])
        if projected.position < 3:
            assert await fast.take()  # the fast one keeps up
    assert await slow.take() is None and slow.overflowed
    assert [f.position for f in await fast.take()] == [3]
    assert (hub.cut_off, hub.subscriber_count) == (1, 1)


async def test_filters_by_worker_and_by_type_prefix_apply_before_queueing(hub) -> None:
    mine, other = worker_life("mine"), worker_life("other")
    mine_id = str(mine[0].event.originator_id)
    by_worker = hub.subscribe(worker_ids=[mine_id])
    by_type = hub.subscribe(type_prefix="worker.status.")
    hub.publish([frame_of(p) for p in [*mine, *other]])
    assert {f.worker_id for f in await by_worker.take()} == {mine_id}
    assert [f.type for f in await by_type.take()] == ["worker.status.changed"] * 2


async def test_snapshots_are_encoded_once_and_sent_as_one_frame_to_the_whole_fleet(hub) -> None:
    dtos = [map_worker_to_dto(lived(n)) for n in ("a", "b", "c")]
    everyone = [hub.subscribe() for _ in range(3)]
    just_b = hub.subscribe(worker_ids=[dtos[1].id])
    only_pauses = hub.subscribe(type_prefix="worker.paused")
    hub.broadcast_snapshots(dtos, position=42)
    received = [await s.take() for s in everyone]
    assert all(len(frames) == 1 and frames[0] is received[0][0] for frames in received)
    text = received[0][0].data.decode()
    assert text.count("event: worker.snapshot\n") == 3 and "\nid:" not in text
    [frame] = await just_b.take()
    envelope = json.loads(frame.data.decode().split("data: ", 1)[1])
    assert envelope["subject"] == dtos[1].id
    assert envelope["data"]["position"] == 42 and envelope["data"]["version"] == 3
    hub.stop()
    assert await only_pauses.take() is None  # nothing was queued for it


async def test_stopping_the_hub_ends_every_stream_and_stops_listening(hub, read_model) -> None:
    subscriber = hub.subscribe()
    waiting = asyncio.create_task(subscriber.take())
    await asyncio.sleep(0)
    hub.stop()
    assert await asyncio.wait_for(waiting, 1) is None
    assert read_model.listeners == []
    assert await hub.subscribe().take() is None  # a late subscriber ends at once


async def test_with_no_subscriber_the_projection_thread_encodes_nothing(read_model, clock) -> None:
    encoder = CountingEncoder()
    hub = Hub(read_model, clock, queue_size=10, to_frame=encoder)
    hub.start()
    read_model.commit(worker_life())
    assert encoder.calls == 0
    hub.stop()
