"""The simulated world survives a restart: replaying its journal rebuilds it exactly,
as AWS would still hold the instances after cml-fleet's process died."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from application.cloud import Launch
from application.cml import LabAction
from application.ports_errors import CmlError
from infrastructure.outside.simulated import SimKnobs, SimulatedCloud, SimulatedCml, SimWorld
from infrastructure.outside.simulated.journal import Journal
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.demo import launch_with_past

REGION = "eu-west-1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def world(path: Path, clock: FakeClock, seed: int = 4) -> SimWorld:
    return SimWorld(clock, SimKnobs(seed=seed, busy_fraction=0.5), Journal(path))


async def everything_seen(sim: SimWorld) -> list[Any]:
    cloud, cml = SimulatedCloud(sim), SimulatedCml(sim)
    instances = await cloud.describe_instances(REGION)
    seen: list[Any] = [instances]
    for info in instances:
        if info.state == "running":
            seen += [await cml.system_stats(info.instance_id), await cml.labs(info.instance_id)]
            seen.append(await cml.licensing(info.instance_id))
    return seen


async def test_a_world_rebuilt_from_its_journal_is_the_same_world(tmp_path: Path) -> None:
    path, clock = tmp_path / "fleet.jsonl", FakeClock(T0)
    before = world(path, clock)
    cloud, cml = SimulatedCloud(before), SimulatedCml(before)
    launch_with_past(before, "old", REGION, "m5.xlarge", {}, age=timedelta(hours=3))
    ids = [
        await cloud.run_instance(
            REGION,
            Launch(instance_type="m5.xlarge", name=f"w{n}", client_token=f"op-{n}", ami_id="a"),
        )
        for n in range(4)
    ]
    clock.advance(timedelta(minutes=10))
    await cloud.stop_instance(REGION, ids[0])
    await cloud.set_tags(REGION, ids[1], {"team": "netops"})
    for instance_id in ids[2:]:
        with contextlib.suppress(CmlError):  # 400 when it was not registered
            await cml.deregister_license(instance_id)
    await cml.register_license(ids[2], "bad-token-1")
    await cml.register_license(ids[3], "c2VjcmV0LXRva2Vu")
    clock.advance(timedelta(hours=2))
    acted = 0
    for instance_id in ids[1:]:  # an operator acts on the labs (users go on meanwhile)
        for lab in await cml.labs(instance_id):
            action = LabAction.STOP if lab.state == "STARTED" else LabAction.START
            await cml.act_on_lab(instance_id, lab.id, action)
            acted += 1
        clock.advance(timedelta(minutes=7))
    assert acted > 0
    clock.advance(timedelta(hours=1))
    seen_before = await everything_seen(before)

    after = world(path, clock, seed=999)  # the journal's seed wins
    assert await everything_seen(after) == seen_before
    assert after.token_launches == before.token_launches
    assert after.token_calls == before.token_calls
    again = await SimulatedCloud(after).run_instance(
        REGION, Launch(instance_type="m5.xlarge", name="w1", client_token="op-1", ami_id="a")
    )
    assert again == ids[1] and after.token_launches["op-1"] == 1
    assert "c2VjcmV0LXRva2Vu" not in path.read_text() and "bad-token" not in path.read_text()


async def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    path, clock = tmp_path / "fleet.jsonl", FakeClock(T0)
    await SimulatedCloud(world(path, clock)).run_instance(
        REGION, Launch(instance_type="m5.xlarge", name="w", client_token="op", ami_id="a")
    )
    with path.open("a") as file:
        file.write('{"op":"launch","at":"2026-03-')
    assert len(await SimulatedCloud(world(path, clock)).describe_instances(REGION)) == 1
