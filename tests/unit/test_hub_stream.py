"""One subscriber's stream: what was queued while it caught up is sent once, never twice."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import pytest

from application.commands.lifecycle import ImportWorker, import_worker
from application.commands.settings import ChangeTags, change_tags
from application.mapper import map_worker_to_dto
from application.notifications import to_notification
from domain.status import WorkerStatus
from infrastructure.fanout.envelope import event_frame
from infrastructure.fanout.hub import Hub
from infrastructure.fanout.stream import StreamRequest, event_stream
from infrastructure.read_model.codec import to_json
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import FleetEventStore


class FakeReadModel:
    """Snapshots straight from the store, at the position the test says."""

    def __init__(self, store: FleetEventStore) -> None:
        self.store = store
        self.position = 0

    def add_listener(self, listener: Any) -> Any:
        return lambda: None

    def snapshot(self, worker_ids: Any = None) -> tuple[tuple[Any, ...], int]:
        workers = {n.originator_id for n in self.store.read_log(0, 1000)}
        dtos = tuple(map_worker_to_dto(self.store.get(w)) for w in workers)
        return dtos, self.position

    def snapshot_documents(
        self, worker_ids: Any = None, teams: bool = True
    ) -> tuple[list[Any], int]:
        dtos, position = self.snapshot(worker_ids)
        return [(d.id, d.team, to_json(d)) for d in dtos], position


@dataclass
class FakeSystem:
    """The parts of ``System`` a stream uses, with the real store and hub."""

    settings: Settings
    clock: Any
    store: FleetEventStore
    read_model: FakeReadModel
    hub: Hub

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)


@pytest.fixture
async def system(memory_store, clock, tmp_path):
    read_model = FakeReadModel(memory_store)
    hub = Hub(read_model, clock, queue_size=100)
    hub.start()
    yield FakeSystem(Settings(data_dir=tmp_path), clock, memory_store, read_model, hub)
    hub.stop()


def record_worker_and_tags(store: FleetEventStore, tags: int) -> Any:
    """A worker (position 1) and ``tags`` tag changes (positions 2..)."""
    result = import_worker(
        ImportWorker(
            instance_id="i-0123456789abcdef0",
            name="lab",
            region="eu-west-1",
            instance_type="c5.2xlarge",
            status=WorkerStatus.RUNNING,
            actor="alice",
            correlation_id="c-1",
        ),
        store,
    )
    for i in range(tags):
        tag(store, result.worker_id, f"v{i}")
    return result.worker_id


def tag(store: FleetEventStore, worker_id: Any, value: str) -> int:
    return change_tags(ChangeTags(worker_id, "alice", "c", add={"n": value}), store).position


def projected(system: FakeSystem, *positions: int) -> None:
    """What the projection thread reports for ``positions`` (already stored)."""
    frames = []
    for n in system.store.read_log(min(positions) - 1, len(positions)):
        frames.append(event_frame(to_notification(system.store.to_domain_event(n)), n.id))
    system.hub.publish(frames)


def ids_in(chunk: bytes) -> list[int]:
    return [int(i) for i in re.findall(rb"^id: (\d+)$", chunk, re.MULTILINE)]


async def test_a_new_subscriber_gets_live_frames_only_beyond_its_snapshot(system) -> None:
    system.read_model.position = 3
    record_worker_and_tags(system.store, tags=3)
    stream = event_stream(system, StreamRequest())
    assert (await anext(stream)).startswith(b"retry: ")  # subscribed now
    projected(system, 3, 4)  # committed while the snapshot was being read
    initial = await anext(stream)
    live = await asyncio.wait_for(anext(stream), 1)
    await stream.aclose()
    assert initial.count(b"event: worker.snapshot") == 1 and ids_in(initial) == []
    assert b'"position":3' in initial
    assert ids_in(live) == [4]


async def test_a_resuming_subscriber_gets_each_missed_event_once(system) -> None:
    worker_id = record_worker_and_tags(system.store, tags=2)  # positions 1..3
    stream = event_stream(system, StreamRequest(last_event_id="1"))
    assert (await anext(stream)).startswith(b"retry: ")  # subscribed now
    projected(system, 2, 3)  # the hub hears of 2 and 3 as well as the log has them
    replayed = await anext(stream)
    tag(system.store, worker_id, "new")
    projected(system, 2, 3, 4)
    live = await asyncio.wait_for(anext(stream), 1)
    await stream.aclose()
    assert (ids_in(replayed), ids_in(live)) == ([2, 3], [4])


async def test_a_subscriber_leaves_the_hub_when_its_stream_closes(system) -> None:
    stream = event_stream(system, StreamRequest())
    await anext(stream)
    assert system.hub.subscriber_count == 1
    await stream.aclose()
    assert system.hub.subscriber_count == 0
