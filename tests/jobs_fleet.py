"""A simulated fleet under cml-fleet, for the job tests: the real system (bootstrap,
event store, read model) on the simulated cloud and CML, with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

from application.commands.lifecycle import import_command, import_worker
from application.dto import CMLWorkerDto
from application.jobs.metrics import CycleReport, MetricsJob
from application.labs import LabsChanged
from application.queries import GetWorker
from domain.cause import Cause
from infrastructure.outside.simulated import SimulatedCloud, SimWorld, new_world
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.builders import build_metrics_job
from infrastructure.wiring.demo import launch_with_past


class RecordingHub:
    """A snapshot sink that keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[tuple[str, ...], int]] = []
        self.labs: list[LabsChanged] = []

    def broadcast_snapshots(self, dtos: Sequence[CMLWorkerDto], position: int) -> None:
        self.sent.append((tuple(d.id for d in dtos), position))

    def broadcast_labs(self, changes: Sequence[LabsChanged]) -> None:
        self.labs.extend(changes)


class JobsFleet:
    def __init__(self, system: System) -> None:
        self.system = system
        assert isinstance(system.clock, FakeClock)
        self.clock: FakeClock = system.clock
        assert isinstance(system.cloud, SimulatedCloud)
        self.cloud: SimulatedCloud = system.cloud
        self.world: SimWorld = system.cloud.world
        self.hub = RecordingHub()
        self.job: MetricsJob = build_metrics_job(system)
        self.job.hub = self.hub
        self.instances: dict[str, str] = {}  # worker id -> instance id

    def add(
        self,
        name: str,
        *,
        busy: bool = False,
        stopped: bool = False,
        age: timedelta = timedelta(hours=1),
        region: str = "eu-west-1",
    ) -> str:
        """An instance with a past, imported as a worker; returns the worker id."""
        instance = launch_with_past(
            self.world,
            name,
            region,
            "m5.xlarge",
            {},
            age=age,
            stopped_for=timedelta(minutes=10) if stopped else None,
            busy=busy,
        )
        info = instance.info()
        result = import_worker(
            import_command(info, cause=Cause("test", "setup"), ami_id=None, tags={}),
            self.system.store,
        )
        self.instances[str(result.worker_id)] = info.instance_id
        # The job reads the fleet from the read model: let it see the new worker.
        assert self.system.read_model.wait_until_blocking(result.position, 5.0)
        return str(result.worker_id)

    async def cycle(self, after: timedelta = timedelta(0)) -> CycleReport:
        """Let ``after`` pass, then run one metrics cycle on an up-to-date read model."""
        self.clock.advance(after)
        await self.caught_up()
        return await self.job.run(self.clock.now())

    async def caught_up(self) -> None:
        position = self.system.store.max_position()
        assert await self.system.read_model.wait_until(position, 5.0)

    async def worker(self, worker_id: str) -> CMLWorkerDto:
        await self.caught_up()
        dto: CMLWorkerDto = self.system.read_model.get_worker(GetWorker(UUID(worker_id)))
        return dto

    def events(self) -> int:
        return self.system.store.max_position()

    def knobs(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self.world.knobs, name, value)


QUIET: dict[str, Any] = {
    "persistence": "memory",
    "scheduler_enabled": False,
    "demo_workers": 0,
    "operations_enabled": False,
    "metrics_interval_seconds": 60.0,
    "snapshot_every_n_cycles": 1000,
}
"""A fleet whose only moving part is the job the test runs."""


@asynccontextmanager
async def started_fleet(
    clock: FakeClock, cloud: Any = None, **settings: Any
) -> AsyncIterator[JobsFleet]:
    """A started system on ``QUIET`` settings (with ``settings`` over them), on the
    simulated cloud or ``cloud(world)`` over the same world; stopped afterwards."""
    chosen = Settings(**(QUIET | settings))
    given = None if cloud is None else cloud(new_world(chosen, clock))
    system = bootstrap(chosen, clock=clock, cloud=given)
    await system.start()
    try:
        yield JobsFleet(system)
    finally:
        await system.stop()
