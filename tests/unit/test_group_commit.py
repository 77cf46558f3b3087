"""Group commit: workers waiting to record at the same time share a transaction, and
the job holds one store thread at a time (the others stay free for operators)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import uuid4

import pytest

from application.commands.group_commit import GroupCommit
from application.errors import WorkerNotFound
from infrastructure.store.event_store import FleetEventStore
from tests.store_spy import SpyStore, a_worker, tagging

T = TypeVar("T")


class Threads:
    """A RunSync that runs each call in a thread and notes how many ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._counted, fn, *args)

    def _counted(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return fn(*args)
        finally:
            with self._lock:
                self.running -= 1


async def test_workers_ready_together_share_transactions_of_at_most_a_batch(
    memory_store: FleetEventStore,
) -> None:
    workers = [a_worker(memory_store, f"w{n}") for n in range(100)]
    spy, threads = SpyStore(memory_store), Threads()
    commit = GroupCommit(spy, threads, batch_size=64)

    results = await asyncio.gather(
        *(commit.record(w, tagging(w, "job", seen="yes")) for w in workers)
    )

    assert [len(s) for s in spy.saves] == [64, 36]
    assert threads.most == 1  # one store thread at a time
    # 100 imports, then one event per worker, in order: each reports its own event.
    assert [r[0].position for r in results] == list(range(101, 201))
    assert memory_store.max_position() == 200
    assert all(memory_store.get(w).tags == {"seen": "yes"} for w in workers)


async def test_a_second_recording_of_a_worker_waits_for_the_next_batch(
    memory_store: FleetEventStore,
) -> None:
    first, second = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    spy = SpyStore(memory_store)
    commit = GroupCommit(spy, Threads())

    await asyncio.gather(
        commit.record(first, tagging(first, "ann", one="1")),
        commit.record(first, tagging(first, "bob", two="2")),
        commit.record(second, tagging(second, "cid", three="3")),
    )

    # Together in one transaction the two of ``first`` would conflict and be redone.
    assert spy.saves == [(first, second), (first,)] and spy.retried == []
    assert memory_store.get(first).tags == {"one": "1", "two": "2"}


async def test_a_busy_worker_neither_holds_others_back_nor_loses_its_order(
    memory_store: FleetEventStore,
) -> None:
    busy, other = a_worker(memory_store, "busy"), a_worker(memory_store, "other")
    spy = SpyStore(memory_store)
    commit = GroupCommit(spy, Threads())

    await asyncio.gather(
        *(commit.record(busy, tagging(busy, "ann", n=str(n))) for n in range(100)),
        commit.record(other, tagging(other, "bob", seen="yes")),
    )

    assert spy.saves[0] == (busy, other)  # the one behind a hundred is in the first batch
    assert spy.saves[1:] == [(busy,)] * 99 and spy.retried == []
    assert memory_store.get(busy).tags == {"n": "99"}  # applied in the order they came


async def test_a_failed_recording_is_raised_to_its_worker_alone(
    memory_store: FleetEventStore,
) -> None:
    known, unknown = a_worker(memory_store), uuid4()
    commit = GroupCommit(SpyStore(memory_store), Threads())

    outcomes = await asyncio.gather(
        commit.record(unknown, tagging(unknown, "job", team="x")),
        commit.record(known, tagging(known, "job", team="a")),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], WorkerNotFound)
    assert memory_store.get(known).tags == {"team": "a"}


async def test_a_worker_whose_turn_was_cancelled_is_not_recorded(
    memory_store: FleetEventStore,
) -> None:
    kept, dropped = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    commit = GroupCommit(SpyStore(memory_store), Threads())

    turn = asyncio.create_task(commit.record(dropped, tagging(dropped, "job", team="b")))
    await asyncio.sleep(0)  # queued, not yet taken
    turn.cancel()
    await commit.record(kept, tagging(kept, "job", team="a"))

    with pytest.raises(asyncio.CancelledError):
        await turn
    assert memory_store.get(dropped).tags == {} and memory_store.get(kept).tags == {"team": "a"}
