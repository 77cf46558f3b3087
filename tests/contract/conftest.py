"""The port contract suites run against every implementation of the ports.

Each implementation comes as a :class:`FleetHarness`: the two ports plus the few
things a contract test needs that the ports do not offer (letting time pass, a region
and an AMI that exist). Today: the simulated fleet. The boto3 (moto) and httpx (fake
CML server) adapters join by adding a harness to ``HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from application.cloud import CloudPort
from application.cml import CmlPort
from infrastructure.outside.simulated import SimKnobs, SimulatedCloud, SimulatedCml, SimWorld
from infrastructure.outside.simulated.images import IMAGES
from infrastructure.outside.simulated.world import RegionFault
from infrastructure.shared.clock import FakeClock


@dataclass
class FleetHarness:
    cloud: CloudPort
    cml: CmlPort
    region: str
    ami_id: str
    let_time_pass: Callable[[timedelta], None]
    """Move time on far enough for transitions to complete (real adapters may wait)."""
    now: Callable[[], datetime]
    images: dict[str, str] = field(default_factory=dict)
    """AMI id to name of the images the harness's region has: a few named ``cml-*``
    and at least one that is not."""
    lacks: frozenset[str] = frozenset()
    """Contract behaviours the backing fake cannot show (moto: see ``aws_moto``); tests
    ask :meth:`shows` first, so the contract stays whole for the other harnesses."""
    broken_region: Callable[[str, RegionFault], AbstractContextManager[CloudPort]] | None = None
    """A cloud port on the same world whose ``region`` fails every call that way, the
    harness's other regions answering as before."""

    def shows(self, behaviour: str) -> bool:
        return behaviour not in self.lacks


def simulated() -> Iterator[FleetHarness]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    world = SimWorld(clock, SimKnobs(seed=7, busy_fraction=1.0))

    @contextmanager
    def broken_region(region: str, fault: RegionFault) -> Iterator[CloudPort]:
        world.knobs.region_faults[region] = fault
        try:
            yield SimulatedCloud(world)
        finally:
            del world.knobs.region_faults[region]

    yield FleetHarness(
        cloud=SimulatedCloud(world),
        cml=SimulatedCml(world),
        region="eu-west-1",
        ami_id="ami-0123456789abcdef0",
        let_time_pass=lambda delta: clock.advance(delta) and None,
        now=clock.now,
        images=dict(IMAGES),
        broken_region=broken_region,
    )


def aws_moto() -> Iterator[FleetHarness]:
    from tests.contract.aws_moto import harness

    yield from harness()


HARNESSES = {"simulated": simulated, "aws-moto": aws_moto}
BOTH = frozenset({"cloud", "cml"})
PORTS = {"aws-moto": frozenset({"cloud"})}
"""The ports a harness implements when not both. A contract module names the ports
it checks in ``CONTRACT_PORTS`` (default: both) and gets the harnesses that have them."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fleet" in metafunc.fixturenames:
        needs = getattr(metafunc.module, "CONTRACT_PORTS", BOTH)
        names = [n for n in sorted(HARNESSES) if needs <= PORTS.get(n, BOTH)]
        metafunc.parametrize("fleet", names, indirect=True)


@pytest.fixture
def fleet(request: pytest.FixtureRequest) -> Iterator[FleetHarness]:
    yield from HARNESSES[request.param]()
