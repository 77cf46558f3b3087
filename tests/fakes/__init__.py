"""Fakes that implement real interfaces over real transports (a fake CML server)."""

from __future__ import annotations

from datetime import timedelta

from infrastructure.outside.simulated import SimWorld
from infrastructure.shared.clock import FakeClock


def ready_worker(world: SimWorld, clock: FakeClock, *, busy: bool = True, hours: int = 0) -> str:
    """Launch a worker in ``world`` and let time pass until its CML is ready (plus
    ``hours`` of use); return its public DNS name."""
    instance = world.add_instance("eu-west-1", "m5.2xlarge", "ami-cml", {"Name": "cml"}, busy=busy)
    clock.advance(timedelta(minutes=10, hours=hours))
    found = world.find(instance.instance_id)
    assert found is not None and found.public_dns is not None
    return found.public_dns
