"""The simulated fleet: EC2, CloudWatch and CML in one seeded, clock-driven world."""

from __future__ import annotations

from typing import Any

from application.cloud import CloudPort
from application.cml import CmlPort
from application.ports import Clock
from infrastructure.outside.simulated.cloud import SimulatedCloud
from infrastructure.outside.simulated.cml import SimulatedCml
from infrastructure.outside.simulated.journal import FILE_NAME as JOURNAL_FILE
from infrastructure.outside.simulated.journal import Journal
from infrastructure.outside.simulated.world import RegionFault, SimKnobs, SimWorld
from infrastructure.shared.settings import Settings

__all__ = ["SimKnobs", "SimWorld", "SimulatedCloud", "SimulatedCml", "fleet_ports", "new_world"]


def new_world(settings: Settings, clock: Clock) -> SimWorld:
    """A world with the settings' seed and knobs, journaled in the data dir (so it
    survives restarts) unless persistence is ``memory``."""
    faults = {r: RegionFault(f) for r, f in settings.sim_region_faults.items()}
    knobs = settings.section(SimKnobs, "sim_", region_faults=faults)
    return SimWorld(clock, knobs, Journal(settings.data_file(JOURNAL_FILE)))


def fleet_ports(
    settings: Settings, clock: Clock, cloud: Any, cml: Any
) -> tuple[CloudPort, CmlPort]:
    """The cloud and CML ports: those given, else simulated ones where configured.

    A simulated cloud and a simulated CML always share one world, so the CML hosts
    are the simulated instances.
    """
    world = next(
        (p.world for p in (cloud, cml) if isinstance(p, SimulatedCloud | SimulatedCml)), None
    )
    if cloud is None and settings.cloud == "simulated":
        world = world or new_world(settings, clock)
        cloud = SimulatedCloud(world)
    if cml is None and settings.cml == "simulated":
        world = world or new_world(settings, clock)
        cml = SimulatedCml(world)
    assert cloud is not None and cml is not None  # settings name one of each
    return cloud, cml
