"""A worker that ends says why in its history: EC2 reporting its instance terminated,
or no longer knowing it, is recorded with that reason, by the metrics job or discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from application.jobs.discovery import Discovery, DiscoveryConfig
from application.notifications import to_notification
from infrastructure.shared.clock import FakeClock
from tests.jobs_fleet import JobsFleet, started_fleet
from tests.unit.test_fault_isolation import CYCLE


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[JobsFleet]:
    async with started_fleet(clock) as fleet:
        yield fleet


def ended(fleet: JobsFleet, worker_id: str) -> dict[str, object]:
    events = list(fleet.system.store.events.get(UUID(worker_id)))
    last = to_notification(events[-1])
    assert last.type == "worker.terminated"
    return dict(last.payload)


async def test_an_instance_terminated_behind_our_back_ends_its_worker_with_the_reason(
    fleet: JobsFleet,
) -> None:
    worker = fleet.add("lab")
    await fleet.cycle()
    fleet.cloud.console_terminate(fleet.instances[worker])

    for _ in range(3):
        await fleet.cycle(after=CYCLE * 10)

    payload = ended(fleet, worker)
    assert payload["reason"] == f"EC2 reports instance {fleet.instances[worker]} terminated"
    assert payload["actor"] == "job:metrics"


async def test_an_instance_ec2_no_longer_knows_ends_its_worker_with_the_reason(
    fleet: JobsFleet,
) -> None:
    worker = fleet.add("lab")
    await fleet.cycle()
    instance = fleet.world.find(fleet.instances[worker])
    assert instance is not None
    fleet.cloud.console_terminate(instance.instance_id)
    fleet.clock.advance(CYCLE * 180)  # EC2 forgets terminated instances after about an hour

    discovery = Discovery(
        store=fleet.system.store,
        read_model=fleet.system.read_model,
        cloud=fleet.cloud,
        run_sync=fleet.system.run_sync,
        config=DiscoveryConfig(regions=("eu-west-1",)),
    )
    await discovery.run(fleet.clock.now())

    payload = ended(fleet, worker)
    assert payload["reason"] == f"EC2 no longer knows instance {instance.instance_id} in eu-west-1"
    assert payload["actor"] == "job:discovery"
