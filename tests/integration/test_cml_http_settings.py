"""Switching to real CML workers: ``CML_FLEET_CML=http`` plus credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.outside.cml_http import CmlConfigError, HttpCml, build_cml
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap


def settings(tmp_path: Path, **values: object) -> Settings:
    base = {"data_dir": tmp_path, "persistence": "memory", "demo_workers": 0}
    return Settings(**{**base, "scheduler_enabled": False, **values})  # type: ignore[arg-type]


async def test_cml_http_builds_the_http_client_into_the_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CML_FLEET_CML_PASSWORD", "env-secret-91c")
    configured = settings(tmp_path, cml="http", cml_port=8443, cml_timeout_seconds=4)

    system = bootstrap(configured)
    await system.start()
    await system.stop()

    assert isinstance(system.cml, HttpCml)
    config = system.cml.transport.config
    assert config.base_url("10.0.0.5") == "https://10.0.0.5:8443/api/v0"
    assert config.timeout_seconds == 4 and config.verify_tls
    assert config.read_password().get_secret_value() == "env-secret-91c"
    assert "env-secret-91c" not in repr(configured) + repr(config)


def test_the_simulated_cml_stays_the_default(tmp_path: Path, clock: FakeClock) -> None:
    assert build_cml(settings(tmp_path), clock) is None


def test_a_missing_password_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(CmlConfigError, match="cml_password"):
        bootstrap(settings(tmp_path, cml="http"))


def test_an_empty_or_missing_password_file_fails_at_start_up(
    tmp_path: Path, clock: FakeClock
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(CmlConfigError, match="empty"):
        build_cml(settings(tmp_path, cml="http", cml_password_file=empty), clock)
    with pytest.raises(CmlConfigError, match="cannot read"):
        missing = tmp_path / "missing"
        build_cml(settings(tmp_path, cml="http", cml_password_file=missing), clock)


def test_a_password_file_wins_over_a_password(tmp_path: Path, clock: FakeClock) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    configured = settings(tmp_path, cml="http", cml_password="inline", cml_password_file=secret)

    cml = build_cml(configured, clock)

    assert cml is not None
    assert cml.transport.config.read_password().get_secret_value() == "from-the-file"


def test_a_missing_ca_bundle_fails_at_start_up(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(CmlConfigError, match="cml_ca_bundle"):
        configured = settings(
            tmp_path, cml="http", cml_password="x", cml_ca_bundle=tmp_path / "nope.pem"
        )
        build_cml(configured, clock)
