"""The reactor follows the log: each requested operation is handed to the engine, one
worker's in log order, different workers' side by side; the tracked position passes an
operation only once it (and everything before it) is settled, so a restart carries
out again exactly what was not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread
import pytest

from application.commands.lifecycle import CreateWorker, StopWorker, create_worker, stop_worker
from application.commands.observations import ObserveInstance, observe_instance
from application.operations.context import Outcome, Result
from application.operations.requests import Operation, OperationKind
from application.operations.retry import RetryPolicy
from domain.status import WorkerStatus
from infrastructure.running.operations.reactor import OperationsReactor
from infrastructure.running.operations.tracking import SQLitePositionTracker
from infrastructure.store.event_store import FleetEventStore

TIMEOUT = 5.0


async def run_sync(fn: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_thread.run_sync(fn, *args)


class GatedEngine:
    """Records what it is given; an operation ends when the test opens its gate."""

    def __init__(self) -> None:
        self.started: list[Operation] = []
        self.finished: list[Operation] = []
        self.gates: dict[int, asyncio.Event] = {}
        self.failures: dict[int, int] = {}  # position -> unexpected errors to raise
        self.given_up: list[tuple[Operation, str]] = []
        self.arrived = asyncio.Event()

    def gate(self, position: int) -> asyncio.Event:
        return self.gates.setdefault(position, asyncio.Event())

    async def carry_out(self, op: Operation) -> Outcome:
        self.started.append(op)
        self.arrived.set()
        if self.failures.get(op.position, 0) > 0:
            self.failures[op.position] -= 1
            raise RuntimeError("a bug")
        await self.gate(op.position).wait()
        self.finished.append(op)
        return Outcome(Result.DONE)

    async def give_up(self, op: Operation, reason: str) -> None:
        self.given_up.append((op, reason))

    async def started_count(self, n: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while len(self.started) < n:
                self.arrived.clear()
                await self.arrived.wait()


def new_worker(store: FleetEventStore, name: str) -> tuple[UUID, int]:
    command = CreateWorker(
        name=name,
        region="eu-west-1",
        instance_type="m5.xlarge",
        actor="alice",
        correlation_id=f"c-{name}",
        ami_id="ami-0123456789abcdef0",
    )
    result = create_worker(command, store)
    return result.worker_id, result.position


def stop_after_provisioning(store: FleetEventStore, worker_id: UUID) -> int:
    seen = ObserveInstance(worker_id, "job", "c-seen", status=WorkerStatus.RUNNING)
    observe_instance(seen, store)
    return stop_worker(StopWorker(worker_id, "oscar", "c-stop"), store).position


class Rig:
    def __init__(self, store: FleetEventStore, path: Path | None) -> None:
        self.store, self.path = store, path
        self.engine = GatedEngine()
        self.tracker = SQLitePositionTracker(path)
        self.reactor = OperationsReactor(
            store=store,
            engine=self.engine,  # type: ignore[arg-type]
            tracker=self.tracker,
            run_sync=run_sync,
            concurrency=4,
            internal_retry=RetryPolicy(attempts=3, base=0.001, cap=0.001),
        )


@pytest.fixture
async def rig(memory_store: FleetEventStore, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = Rig(memory_store, tmp_path / "reactor.sqlite")
    await rig.reactor.start()
    try:
        yield rig
    finally:
        await rig.reactor.stop()


async def test_operations_of_different_workers_run_side_by_side_and_one_worker_s_in_order(
    rig: Rig,
) -> None:
    a, created_a = new_worker(rig.store, "a")
    b, created_b = new_worker(rig.store, "b")
    stop_a = stop_after_provisioning(rig.store, a)

    await rig.engine.started_count(2)
    assert [op.position for op in rig.engine.started] == [created_a, created_b]
    rig.engine.gate(created_b).set()  # b's operation ends while a's first is still going
    async with asyncio.timeout(TIMEOUT):
        while rig.reactor.settled < 1:
            await asyncio.sleep(0.01)
    assert [op.worker_id for op in rig.engine.finished] == [b]
    assert rig.reactor.position() == created_a - 1  # a is unsettled: nothing beyond it counts
    assert not await rig.reactor.wait_until(created_b, 0.2)

    rig.engine.gate(created_a).set()
    await rig.engine.started_count(3)
    rig.engine.gate(stop_a).set()

    assert await rig.reactor.wait_until(stop_a, TIMEOUT)
    assert [(op.worker_id, op.kind) for op in rig.engine.finished] == [
        (b, OperationKind.PROVISION),
        (a, OperationKind.PROVISION),
        (a, OperationKind.STOP),
    ]


async def test_the_position_is_saved_only_past_settled_operations_and_a_restart_resumes_there(
    rig: Rig,
) -> None:
    _, settled = new_worker(rig.store, "first")
    second, unsettled = new_worker(rig.store, "second")
    rig.engine.gate(settled).set()
    await rig.engine.started_count(2)
    assert await rig.reactor.wait_until(settled, TIMEOUT)

    await rig.reactor.stop()  # "crash" with the second operation in flight
    assert rig.tracker.position() == settled

    again = Rig(rig.store, rig.path)
    again.engine.gate(unsettled).set()
    await again.reactor.start()
    try:
        assert await again.reactor.wait_until(unsettled, TIMEOUT)
    finally:
        await again.reactor.stop()
    assert [op.worker_id for op in again.engine.started] == [second]  # not the first again
    assert again.tracker.position() == unsettled


async def test_an_unexpected_error_is_retried_then_recorded_as_the_operation_s_failure(
    rig: Rig,
) -> None:
    rig.engine.failures[1] = 10  # the first operation always hits "a bug"
    _, position = new_worker(rig.store, "unlucky")

    assert await rig.reactor.wait_until(position, TIMEOUT)

    assert len(rig.engine.started) == 3
    ((op, reason),) = rig.engine.given_up
    assert op.position == position
    assert reason == "internal error in cml-fleet; see the server log"


async def test_a_reactor_can_be_stopped_and_started_again(rig: Rig) -> None:
    _, one = new_worker(rig.store, "one")
    rig.engine.gate(one).set()
    assert await rig.reactor.wait_until(one, TIMEOUT)
    await rig.reactor.stop()
    await rig.reactor.start()

    _, two = new_worker(rig.store, "two")
    rig.engine.gate(two).set()

    assert await rig.reactor.wait_until(two, TIMEOUT)
    assert [op.position for op in rig.engine.finished] == [one, two]
