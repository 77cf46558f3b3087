"""The CML port contract (``test_cml_port.py``) against the HTTP adapter.

Every contract test function runs here with its own harness: a simulated cloud whose
workers' CML is served over real HTTP by the fake CML server (answers checked
against the spec), and ``HttpCml`` as the port. The harness is an async fixture so
the adapter's connections are closed on the test's own event loop (the shared
``fleet`` fixture is synchronous).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from infrastructure.outside.simulated import SimKnobs, SimulatedCloud, SimWorld
from infrastructure.shared.clock import FakeClock
from tests.contract import test_cml_port as contract
from tests.contract.conftest import FleetHarness
from tests.fakes.cml_rig import http_cml
from tests.fakes.cml_server import FakeCml

CONTRACT = {name: test for name, test in vars(contract).items() if name.startswith("test_")}


@pytest.fixture
async def http_fleet() -> AsyncIterator[FleetHarness]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    world = SimWorld(clock, SimKnobs(seed=7, busy_fraction=1.0))
    with FakeCml(world) as fake:
        cml = http_cml(fake, clock)
        yield FleetHarness(
            cloud=SimulatedCloud(world),
            cml=cml,
            region="eu-west-1",
            ami_id="ami-0123456789abcdef0",
            let_time_pass=lambda delta: clock.advance(delta) and None,
            now=clock.now,
        )
        await cml.aclose()
        assert fake.violations == []


@pytest.mark.parametrize("name", sorted(CONTRACT))
async def test_the_cml_port_contract_holds_over_http(name: str, http_fleet: FleetHarness) -> None:
    check = CONTRACT[name]
    assert list(inspect.signature(check).parameters) == ["fleet"]
    await check(http_fleet)
