"""The demo fleet: on a first start, a few simulated instances imported as workers.

Instances get a past (launched hours ago, some stopped since), so the dashboard shows
a fleet already in use: some workers with users running labs, some idle, some stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

from application.commands.lifecycle import import_command, import_worker
from domain.cause import Cause
from infrastructure.outside.simulated.cloud import SimulatedCloud
from infrastructure.outside.simulated.images import CML_IMAGE
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.outside.simulated.world import SimWorld

if TYPE_CHECKING:
    from infrastructure.wiring.bootstrap import System

ACTOR = "demo"
FLEET = (
    ("ccna-bootcamp", "eu-west-1", "m5.2xlarge", "training"),
    ("sdwan-demo", "us-east-1", "c5.9xlarge", "sales"),
    ("ospf-study", "us-west-2", "m5.xlarge", "training"),
    ("evpn-lab", "eu-central-1", "m5.4xlarge", "engineering"),
    ("partner-demo", "ap-southeast-2", "m5.2xlarge", "sales"),
    ("qa-regression", "us-east-1", "m5.4xlarge", "engineering"),
)
DEMO_AMI = CML_IMAGE


def launch_with_past(
    world: SimWorld,
    name: str,
    region: str,
    instance_type: str,
    tags: dict[str, str],
    *,
    age: timedelta,
    stopped_for: timedelta | None = None,
    busy: bool | None = None,
    ami_id: str = DEMO_AMI,
) -> SimInstance:
    """An instance launched ``age`` ago (and stopped ``stopped_for`` ago, if given)."""
    now = world.now()
    with world.lock:
        instance = world.launch(
            region, instance_type, ami_id, {**tags, "Name": name}, at=now - age, busy=busy
        )
        if stopped_for is not None:
            world.act(instance, "stop", now - stopped_for)
        instance.advance(now)
        return instance


def seed_demo_fleet(system: System) -> int:
    """Create and import ``settings.demo_workers`` instances into an empty store.

    Does nothing (returns 0) when workers exist already or the cloud is not simulated.
    """
    cloud = system.cloud
    count = system.settings.demo_workers
    if not isinstance(cloud, SimulatedCloud) or count <= 0 or system.store.max_position() > 0:
        return 0
    correlation_id = f"demo-{uuid4()}"
    for k in range(count):
        name, region, instance_type, team = FLEET[k % len(FLEET)]
        if k >= len(FLEET):
            name = f"{name}-{k // len(FLEET) + 1}"
        instance = launch_with_past(
            cloud.world,
            name,
            region,
            instance_type,
            {"Team": team, "Environment": "demo"},
            age=timedelta(hours=2 + k % 5),
            stopped_for=timedelta(minutes=40) if k % 3 == 2 else None,
            busy=k % 2 == 0,
        )
        command = import_command(instance.info(), cause=Cause(ACTOR, correlation_id))
        import_worker(command, system.store)
    return count
