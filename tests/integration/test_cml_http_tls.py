"""A worker with a self-signed certificate: refused by default, trusted through a CA
bundle, or (explicitly, with a warning) not verified at all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.ports_errors import CmlUnreachable
from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.shared.clock import FakeClock
from tests.fakes import ready_worker
from tests.fakes.cml_rig import Rig
from tests.fakes.cml_server import FakeCml

trustme = pytest.importorskip("trustme", reason="trustme makes the test certificates")


@pytest.fixture
def ca_bundle(tmp_path: Path) -> Iterator[tuple[Path, tuple[Path, Path]]]:
    """A private CA's certificate, and a server certificate it signed for 127.0.0.1."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    ca.cert_pem.write_to_path(str(paths[0]))
    server.cert_chain_pems[0].write_to_path(str(paths[1]))
    server.private_key_pem.write_to_path(str(paths[2]))
    yield paths[0], (paths[1], paths[2])


@pytest.fixture
def rig(clock: FakeClock, ca_bundle: tuple[Path, tuple[Path, Path]]) -> Iterator[Rig]:
    world = SimWorld(clock, SimKnobs(seed=2, busy_fraction=0.0))
    host = ready_worker(world, clock)
    with FakeCml(world, tls=ca_bundle[1]) as fake:
        assert fake.url.startswith("https://")
        yield Rig(clock, world, fake, host)


async def test_a_self_signed_worker_is_refused_by_default(rig: Rig) -> None:
    cml = rig.client()
    try:
        with pytest.raises(CmlUnreachable) as refused:
            await cml.system_information(rig.host)
    finally:
        await cml.aclose()

    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


async def test_a_ca_bundle_makes_the_worker_trusted(
    rig: Rig, ca_bundle: tuple[Path, tuple[Path, Path]]
) -> None:
    cml = rig.client(ca_bundle=ca_bundle[0])
    try:
        info = await cml.system_information(rig.host)
        stats = await cml.system_stats(rig.host)
    finally:
        await cml.aclose()

    assert info.ready and stats.cpu_percent is not None


async def test_switching_verification_off_works_and_is_logged_as_a_warning(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="infrastructure.outside.cml_http")
    cml = rig.client(verify_tls=False)
    try:
        assert (await cml.system_information(rig.host)).ready
    finally:
        await cml.aclose()

    assert "NOT verified" in caplog.text
