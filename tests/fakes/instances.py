"""Instances that exist in the simulated EC2, for tests that import them.

Import looks the instance up in EC2 first, so a test imports an instance that is
there: launched in the system's simulated world (in-process), or in the world a data
directory's journal holds (processes started on that directory replay it).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.outside.simulated.cloud import SimulatedCloud
from infrastructure.outside.simulated.journal import FILE_NAME, Journal
from infrastructure.shared.clock import SystemClock

AMI = "ami-0123456789abcdef0"
SETTLED = timedelta(minutes=30)  # launched this long ago: running by now


def launch(
    world: SimWorld,
    *,
    region: str = "eu-west-1",
    instance_type: str = "m5.xlarge",
    name: str | None = None,
    tags: dict[str, str] | None = None,
    state: str = "running",
) -> str:
    """An instance in ``world`` that is ``running`` (or ``stopped``) by now; its id."""
    named = {**(tags or {}), **({"Name": name} if name else {})}
    at = world.now() - SETTLED
    instance = world.launch(region, instance_type, AMI, named, at=at, busy=False)
    if state == "stopped":
        world.act(instance, "stop", at=at + SETTLED / 2)
    return instance.instance_id


def launch_in(system: Any, **options: Any) -> str:
    """A running instance in the simulated cloud of ``system`` (a bootstrapped System)."""
    cloud = system.cloud
    assert isinstance(cloud, SimulatedCloud), "needs the simulated cloud"
    return launch(cloud.world, **options)


def launch_in_journal(data_dir: Path, count: int, **options: Any) -> list[str]:
    """``count`` running instances in the simulated world journaled in ``data_dir``,
    before any process starts on it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    world = SimWorld(SystemClock(), SimKnobs(), Journal(data_dir / FILE_NAME))
    return [launch(world, **options) for _ in range(count)]


def import_body(instance_id: str, **fields: Any) -> dict[str, Any]:
    """An import request for ``instance_id`` in eu-west-1."""
    return {"instance_id": instance_id, "region": "eu-west-1", **fields}
