"""A fake CML server with one ready worker, and HTTP adapters pointed at it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydantic import SecretStr

from infrastructure.outside.cml_http import CmlHttpConfig, CmlTransport, HttpCml
from infrastructure.outside.simulated import SimWorld
from infrastructure.shared.clock import FakeClock
from tests.fakes.cml_server import PASSWORD, USERNAME, FakeCml

TEST_CONFIG = CmlHttpConfig(
    username=USERNAME,
    password=SecretStr(PASSWORD),
    scheme="http",
    timeout_seconds=5.0,
    backoff_seconds=0.001,  # real back-off, too short to slow the tests
    backoff_max_seconds=0.01,
)


def http_cml(fake: FakeCml, clock: FakeClock, **config: Any) -> HttpCml:
    """An ``HttpCml`` that finds every worker through ``fake`` (config overrides)."""
    transport = CmlTransport(replace(TEST_CONFIG, **config), clock, base_url=fake.base_url)
    return HttpCml(transport)


@dataclass
class Rig:
    clock: FakeClock
    world: SimWorld
    fake: FakeCml
    host: str

    def client(self, **config: Any) -> HttpCml:
        return http_cml(self.fake, self.clock, **config)

    def start_a_lab(self) -> str:
        """Make sure a lab runs on the worker (a user started it); return its id."""
        with self.world.lock:
            instance = self.world.resolve(self.host)
            assert instance is not None and instance.cml.labs
            lab = instance.cml.labs[0]
            lab.state = "STARTED"
            return lab.id
