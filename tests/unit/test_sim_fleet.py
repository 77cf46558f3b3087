"""The simulated fleet behaves like EC2 and CML, moving with the clock, not with sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.cloud import Launch
from application.ports_errors import CmlUnreachable
from infrastructure.outside.simulated import SimKnobs, SimulatedCloud, SimulatedCml, SimWorld
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.demo import launch_with_past

REGION = "eu-west-1"


class Fleet:
    def __init__(self, seed: int = 42, **knobs: float) -> None:
        self.clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        self.world = SimWorld(self.clock, SimKnobs(seed=seed, **knobs))  # type: ignore[arg-type]
        self.cloud = SimulatedCloud(self.world)
        self.cml = SimulatedCml(self.world)

    def wait(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    async def launch(self, name: str = "w", token: str = "t") -> str:
        return await self.cloud.run_instance(
            REGION, Launch(instance_type="m5.xlarge", name=name, client_token=token, ami_id="ami-1")
        )

    async def state(self, instance_id: str) -> str:
        (info,) = await self.cloud.describe_instances(REGION, [instance_id])
        return info.state

    async def host(self, instance_id: str) -> str:
        (info,) = await self.cloud.describe_instances(REGION, [instance_id])
        assert info.public_ip is not None
        return info.public_ip


async def test_an_instance_takes_tens_of_seconds_to_run_and_cml_longer_to_be_ready() -> None:
    fleet = Fleet()
    instance_id = await fleet.launch()
    fleet.wait(seconds=10)
    assert await fleet.state(instance_id) == "pending"
    fleet.wait(seconds=50)
    assert await fleet.state(instance_id) == "running"

    host, phases = await fleet.host(instance_id), []
    for _ in range(60):  # ten minutes, every ten seconds
        try:
            phases.append("ready" if (await fleet.cml.system_information(host)).ready else "up")
        except CmlUnreachable:
            phases.append("down")
        fleet.wait(seconds=10)
    first_ready = phases.index("ready")
    assert phases[0] == "down" and "up" in phases[:first_ready]
    assert set(phases[first_ready:]) == {"ready"}
    assert 6 <= first_ready <= 24  # one to four minutes after the instance runs


async def test_stopping_takes_time_and_a_new_start_gets_a_new_public_address() -> None:
    fleet = Fleet()
    instance_id = await fleet.launch()
    fleet.wait(minutes=2)
    first = await fleet.host(instance_id)
    await fleet.cloud.stop_instance(REGION, instance_id)
    fleet.wait(seconds=15)
    assert await fleet.state(instance_id) == "stopping"
    fleet.wait(minutes=1)
    assert await fleet.state(instance_id) == "stopped"
    await fleet.cloud.start_instance(REGION, instance_id)
    fleet.wait(minutes=2)
    assert await fleet.host(instance_id) != first


async def test_a_terminated_instance_stays_visible_for_an_hour_then_disappears() -> None:
    fleet = Fleet()
    instance_id = await fleet.launch()
    await fleet.cloud.terminate_instance(REGION, instance_id)
    fleet.wait(minutes=50)
    assert await fleet.state(instance_id) == "terminated"
    fleet.wait(minutes=20)
    assert await fleet.cloud.describe_instances(REGION, [instance_id]) == ()


async def test_the_console_changes_instances_behind_cml_fleets_back_without_counting() -> None:
    fleet = Fleet()
    instance_id = await fleet.launch()
    fleet.wait(minutes=2)
    fleet.cloud.console_stop(instance_id)
    fleet.wait(minutes=2)
    assert await fleet.state(instance_id) == "stopped"
    assert fleet.world.count("ec2:StopInstances") == 0


async def test_calls_are_counted_per_operation_and_per_client_token() -> None:
    fleet = Fleet()
    first = await fleet.launch(token="op-1")
    assert await fleet.launch(token="op-1") == first
    await fleet.launch(token="op-2")
    assert fleet.world.count("ec2:RunInstances") == 3
    assert fleet.world.token_calls["op-1"] == 2
    assert fleet.world.token_launches == {"op-1": 1, "op-2": 1}


async def test_an_idle_worker_drifts_by_a_point_or_so_and_a_busy_one_moves() -> None:
    fleet = Fleet(busy_fraction=0.0)
    idle = launch_with_past(fleet.world, "idle", REGION, "m5.xlarge", {}, age=timedelta(hours=1))
    busy = launch_with_past(
        fleet.world, "busy", REGION, "m5.xlarge", {}, age=timedelta(hours=1), busy=True
    )
    idle_cpu, busy_cpu = [], []
    for _ in range(6 * 60):
        fleet.wait(minutes=1)
        idle_cpu.append((await fleet.cml.system_stats(idle.instance_id)).cpu_percent or 0.0)
        busy_cpu.append((await fleet.cml.system_stats(busy.instance_id)).cpu_percent or 0.0)
    assert max(idle_cpu) - min(idle_cpu) < 10  # bounded walk around a low level
    assert max(idle_cpu) < 20
    assert max(busy_cpu) - min(busy_cpu) > 10  # labs start and stop
    assert not (await fleet.cml.labs(idle.instance_id)) or all(
        lab.state != "STARTED" for lab in await fleet.cml.labs(idle.instance_id)
    )


async def test_users_show_up_in_telemetry_and_our_own_login_is_marked_as_ours() -> None:
    fleet = Fleet()
    busy = launch_with_past(
        fleet.world, "busy", REGION, "m5.xlarge", {}, age=timedelta(hours=3), busy=True
    )
    events = await fleet.cml.telemetry_events(busy.instance_id)
    categories = {e.category for e in events}
    assert {"start_lab", "user_activity"} <= categories
    ours = [e for e in events if e.data.get("user_name") == "cml-fleet"]
    assert len(ours) == 1  # one login per boot, as an API client with a cached token
