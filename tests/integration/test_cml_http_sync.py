"""A fleet manager syncs a real-looking CML worker over HTTP: the fake CML server on
127.0.0.1 answers like the 2.9 API (checked against its spec on every answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import yaml

from application.cml import LabAction, license_status_of
from application.jobs.probe import probe_cml
from application.ports_errors import CmlError
from domain.status import LicenseStatus
from infrastructure.outside.cml_http import ENDPOINTS, HttpCml
from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.shared.clock import FakeClock
from tests.fakes import ready_worker
from tests.fakes.cml_rig import Rig
from tests.fakes.cml_server import FakeCml
from tests.fakes.cml_spec import load_spec


@pytest.fixture
def rig(clock: FakeClock) -> Iterator[Rig]:
    world = SimWorld(clock, SimKnobs(seed=3, busy_fraction=1.0))
    host = ready_worker(world, clock, hours=3)
    with FakeCml(world) as fake:
        yield Rig(clock, world, fake, host)
        assert fake.violations == []


@pytest.fixture
async def cml(rig: Rig) -> AsyncIterator[HttpCml]:
    client = rig.client()
    yield client
    await client.aclose()


async def test_a_full_sync_fills_in_system_health_licensing_labs_and_activity(
    rig: Rig, cml: HttpCml
) -> None:
    lab_id = rig.start_a_lab()

    probe = await probe_cml(cml, rig.host)

    assert probe.info.ready and probe.info.version.startswith("2.9")
    assert probe.health.valid and probe.health.computes == 1
    assert probe.stats.cpu_percent is not None and probe.stats.memory_percent is not None
    assert license_status_of(probe.licensing) in set(LicenseStatus)
    started = next(lab for lab in probe.labs if lab.id == lab_id)
    assert started.state == "STARTED" and started.running_nodes == started.node_count > 0
    assert all(lab.running_nodes == 0 for lab in probe.labs if lab.state != "STARTED")
    assert probe.events and [e.timestamp for e in probe.events] == sorted(
        e.timestamp for e in probe.events
    )


async def test_labs_are_listed_for_every_user(rig: Rig, cml: HttpCml) -> None:
    await cml.labs(rig.host)

    (listing,) = [seen for seen in rig.fake.seen if seen.operation == "GET /labs"]
    assert listing.query == {"show_all": "true"}


async def test_every_call_the_client_makes_is_an_operation_of_the_spec(
    rig: Rig, cml: HttpCml
) -> None:
    spec = load_spec()
    assert {(m, p) for m, p in ENDPOINTS} <= set(spec.operations)

    started = rig.start_a_lab()
    await probe_cml(cml, rig.host)
    await cml.register_license(rig.host, "c2VjcmV0LXRva2Vu")
    rig.clock.advance(timedelta(minutes=2))  # the registration completes
    rig.fake.expire_tokens()  # a re-authentication is part of the story too
    await cml.licensing(rig.host)
    await cml.deregister_license(rig.host)
    for action in LabAction.STOP, LabAction.WIPE, LabAction.START, LabAction.STOP:
        await cml.act_on_lab(rig.host, started, action)
    copy = await cml.import_lab(
        rig.host, yaml.safe_load(await cml.download_lab(rig.host, started)), None
    )
    await cml.act_on_lab(rig.host, started, LabAction.DELETE)
    assert await cml.lab(rig.host, copy) is not None

    made = {seen.operation for seen in rig.fake.seen}
    assert made == {f"{method} {path}" for method, path in ENDPOINTS}
    assert set(cml.calls) == made
    assert rig.fake.violations == []


async def test_a_registration_the_worker_refuses_says_why_without_the_token(
    rig: Rig, cml: HttpCml
) -> None:
    await cml.register_license(rig.host, "c2VjcmV0LXRva2Vu")
    with pytest.raises(CmlError) as busy:
        await cml.register_license(rig.host, "c2VjcmV0LXRva2Vu")

    assert busy.value.status == 409
    assert "c2VjcmV0LXRva2Vu" not in str(busy.value)
