"""Read-your-writes: a caller waits for the position its command returned.

In-memory persistence (POPO event store, in-memory SQLite view)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from application.commands.common import CommandResult
from application.commands.lifecycle import ImportWorker, import_worker
from application.queries import GetWorker
from domain.status import WorkerStatus
from infrastructure.read_model.waiters import PositionWaiters
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap


@pytest.fixture
def system() -> Iterator[System]:
    system = bootstrap(Settings(persistence="memory", demo_workers=0, scheduler_enabled=False))
    system.read_model.start()
    yield system
    system.read_model.close()


def record(system: System, name: str) -> CommandResult:
    command = ImportWorker("i-1", name, "eu-west-1", "m5.xlarge", WorkerStatus.RUNNING, "a", "c")
    return import_worker(command, system.store)


async def test_a_waiting_request_is_woken_when_its_write_is_projected(system) -> None:
    model = system.read_model
    waiting = asyncio.create_task(model.wait_until(system.store.max_position() + 1, 10))
    await asyncio.sleep(0)  # let it start waiting before the write happens
    result = await system.run_sync(record, system, "w1")
    assert await waiting
    assert model.get_worker(GetWorker(result.worker_id)).name == "w1"


async def test_a_reached_position_answers_at_once_and_a_future_one_times_out(system) -> None:
    result = await system.run_sync(record, system, "w1")
    assert await system.read_model.wait_until(result.position, 10)
    assert await system.read_model.wait_until(result.position, 0)
    assert not await system.read_model.wait_until(result.position + 1, 0.05)


async def test_waiters_are_released_from_another_thread_in_position_order() -> None:
    waiters = PositionWaiters()
    near = asyncio.create_task(waiters.wait(3, 10))
    far = asyncio.create_task(waiters.wait(7, 10))
    await asyncio.sleep(0)
    threading.Thread(target=waiters.advance, args=(5,)).start()
    assert await near
    assert not far.done()
    threading.Thread(target=waiters.advance, args=(7,)).start()
    assert await far


async def test_a_timed_out_waiter_is_forgotten() -> None:
    waiters = PositionWaiters()
    assert not await waiters.wait(1, 0.01)
    assert waiters.waiting == 0
    waiters.advance(1)  # nothing left to resolve, nothing breaks
    assert waiters.wait_blocking(1, 0)


async def test_a_cancelled_waiter_is_forgotten() -> None:
    waiters = PositionWaiters()
    task = asyncio.create_task(waiters.wait(1, 10))
    await asyncio.sleep(0)
    assert waiters.waiting == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert waiters.waiting == 0
