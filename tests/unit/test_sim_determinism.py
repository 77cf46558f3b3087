"""Same seed, same fleet: a simulated run can be repeated exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from application.cloud import Launch
from application.ports_errors import CloudError, CmlError
from infrastructure.outside.simulated import SimKnobs, SimulatedCloud, SimulatedCml, SimWorld
from infrastructure.shared.clock import FakeClock

REGION = "us-east-1"


async def scenario(seed: int, **knobs: float) -> list[Any]:
    """Launch a few instances, let two hours pass in minutes, record everything seen."""
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    world = SimWorld(clock, SimKnobs(seed=seed, **knobs))  # type: ignore[arg-type]
    cloud, cml = SimulatedCloud(world), SimulatedCml(world)
    seen: list[Any] = []
    ids = []
    for n in range(4):
        try:
            ids.append(
                await cloud.run_instance(
                    REGION,
                    Launch(
                        instance_type="m5.xlarge",
                        name=f"w{n}",
                        client_token=f"t{n}",
                        ami_id="ami-1",
                    ),
                )
            )
        except CloudError as error:
            seen.append(type(error).__name__)
    for minute in range(120):
        clock.advance(timedelta(minutes=1))
        if minute == 60 and ids:
            await cloud.stop_instance(REGION, ids[0])
        try:
            seen.append(await cloud.describe_instances(REGION))
            seen.append(await cloud.metrics(REGION, ids, clock.now()))
        except CloudError as error:
            seen.append(type(error).__name__)
        for instance_id in ids:
            try:
                seen.append(await cml.system_stats(instance_id))
                seen.append(await cml.telemetry_events(instance_id))
            except CmlError as error:
                seen.append(str(error))
    return seen


async def test_the_same_seed_gives_the_same_fleet_history() -> None:
    assert await scenario(seed=11) == await scenario(seed=11)


async def test_the_same_seed_gives_the_same_faults() -> None:
    first = await scenario(seed=11, error_rate=0.2, timeout_rate=0.1)
    assert first == await scenario(seed=11, error_rate=0.2, timeout_rate=0.1)
    assert any(isinstance(item, str) for item in first)


async def test_another_seed_gives_another_fleet() -> None:
    assert await scenario(seed=11) != await scenario(seed=12)
