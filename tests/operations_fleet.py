"""The real system (bootstrap, event store, read model, operations engine) on the
simulated fleet with a fake clock, for the operations engine's tests.

The engine's waits (retry backoff, licensing polls) move the fake clock instead of
sleeping, so a registration that takes CML 30 s completes at once, in simulated time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.commands.lifecycle import (
    CreateWorker,
    create_worker,
    import_command,
    import_worker,
)
from application.dto import CMLWorkerDto
from application.operations.engine import OperationEngine
from application.queries import GetWorker
from domain.cause import Cause
from domain.worker import CMLWorker
from infrastructure.outside.simulated import SimulatedCloud, SimWorld
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.builders import build_engine
from infrastructure.wiring.demo import launch_with_past

AMI = "ami-0123456789abcdef0"
FAST: dict[str, Any] = {
    "operations_retry_base_seconds": 0.01,
    "operations_retry_max_seconds": 0.05,
    "license_poll_seconds": 2.0,
}


def now_clock() -> FakeClock:
    """A fake clock starting at the real time: event timestamps (the library's, from the
    real clock) and the times the domain is given then agree."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))


def fleet_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "persistence": "memory",
        "scheduler_enabled": False,
        "demo_workers": 0,
        **FAST,
    }
    return Settings(**(base | overrides))


def fast_forward(clock: FakeClock) -> Any:
    """A ``sleep`` that moves the fake clock instead of waiting."""

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    return sleep


class OpsFleet:
    def __init__(self, system: System) -> None:
        self.system = system
        assert isinstance(system.clock, FakeClock)
        self.clock: FakeClock = system.clock
        assert isinstance(system.cloud, SimulatedCloud)
        self.cloud: SimulatedCloud = system.cloud
        self.world: SimWorld = system.cloud.world
        self.store = system.store
        if system.reactor is not None:
            system.reactor.engine.context.sleep = fast_forward(self.clock)

    def engine(self) -> OperationEngine:
        """An engine of its own (no reactor), waiting in simulated time."""
        engine = build_engine(self.system)
        engine.context.sleep = fast_forward(self.clock)
        return engine

    @classmethod
    def build(cls, clock: FakeClock | None = None, **settings: Any) -> OpsFleet:
        return cls(bootstrap(fleet_settings(**settings), clock=clock or now_clock()))

    # ---------------------------------------------------------------- setup

    def create(self, name: str = "lab", region: str = "eu-west-1", **fields: Any) -> UUID:
        command = CreateWorker(
            name=name,
            region=region,
            instance_type="m5.xlarge",
            ami_id=AMI,
            actor="alice",
            correlation_id=f"create-{name}",
            **fields,
        )
        return create_worker(command, self.store).worker_id

    def add(
        self,
        name: str,
        *,
        busy: bool = False,
        stopped: bool = False,
        region: str = "eu-west-1",
        age: timedelta = timedelta(hours=2),
        **fields: Any,
    ) -> UUID:
        """An instance with a past in the simulated cloud, imported as a worker."""
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
        who = {"actor": "alice", "correlation_id": f"import-{name}"}
        command = import_command(instance.info(), cause=Cause(**who), **({"tags": {}} | fields))
        return import_worker(command, self.store).worker_id

    # --------------------------------------------------------------- reading

    def worker(self, worker_id: UUID) -> CMLWorker:
        return self.store.get(worker_id)

    def instance_of(self, worker_id: UUID) -> Any:
        instance_id = self.worker(worker_id).instance_id
        assert instance_id is not None
        instance = self.world.find(instance_id)
        assert instance is not None
        return instance

    async def settled(self, timeout: float = 10.0) -> None:
        """Until the reactor has settled every operation requested so far (and the
        read model has caught up), including those its own outcomes request."""
        reactor = self.system.reactor
        async with asyncio.timeout(timeout):
            while True:
                position = self.store.max_position()
                assert await reactor.wait_until(position, timeout)
                assert await self.system.read_model.wait_until(position, timeout)
                if self.store.max_position() == position:
                    return

    async def dto(self, worker_id: UUID) -> CMLWorkerDto:
        position = self.store.max_position()
        assert await self.system.read_model.wait_until(position, 5.0)
        dto: CMLWorkerDto = self.system.read_model.get_worker(GetWorker(worker_id))
        return dto

    def calls(self, op: str) -> int:
        return self.world.count(f"ec2:{op}")

    def events(self, worker_id: UUID) -> list[str]:
        return [type(e).__name__ for e in self.store.events.get(worker_id)]
