"""Each adapter's config takes every setting of its section, by name, once: a setting an
operator sets reaches the adapter (and a secret stays masked on the way)."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

from pydantic import SecretStr

from infrastructure.outside.aws.config import AwsConfig
from infrastructure.outside.cml_http.config import CmlHttpConfig
from infrastructure.outside.simulated import SimKnobs, new_world
from infrastructure.outside.simulated.world import RegionFault
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings

RENAMED = {
    "aws_connect_timeout_seconds": "connect_timeout",
    "aws_read_timeout_seconds": "read_timeout",
    "aws_metrics_lookback_minutes": "metrics_lookback",
}


def test_every_aws_setting_reaches_the_aws_config() -> None:
    settings = Settings(
        aws_regions=("eu-west-1", "us-east-1"),
        aws_profile="lab",
        aws_secret_access_key=SecretStr("s3cr3t"),
        aws_max_attempts=7,
        aws_connect_timeout_seconds=2.5,
        aws_read_timeout_seconds=9.0,
        aws_metrics_lookback_minutes=5,
        aws_memory_metric=False,
    )
    config = AwsConfig.from_settings(settings)

    assert config.regions == ("eu-west-1", "us-east-1") and config.profile == "lab"
    assert config.max_attempts == 7 and config.memory_metric is False
    assert (config.connect_timeout, config.read_timeout) == (2.5, 9.0)
    assert config.metrics_lookback == timedelta(minutes=5)
    assert "s3cr3t" not in repr(config)
    names = {f.name for f in fields(AwsConfig)}
    for setting in Settings.model_fields:
        if setting.startswith("aws_"):
            assert RENAMED.get(setting, setting.removeprefix("aws_")) in names, setting


def test_every_cml_client_setting_reaches_the_cml_config_within_its_bounds() -> None:
    settings = Settings(cml_username="ops", cml_port=8443, cml_retries=-3, cml_breaker_failures=0)
    config = CmlHttpConfig.from_settings(settings)

    assert (config.username, config.port) == ("ops", 8443)
    assert (config.retries, config.breaker_failures) == (0, 1)  # clamped, not taken as is
    names = {f.name for f in fields(CmlHttpConfig)}
    for setting in Settings.model_fields:
        if setting.startswith("cml_") and setting != "cml_service_account_pattern":
            assert setting.removeprefix("cml_") in names, setting


def test_every_simulation_setting_reaches_the_simulated_world() -> None:
    settings = Settings(
        persistence="memory",
        sim_seed=7,
        sim_latency_ms=3.0,
        sim_error_rate=0.1,
        sim_region_faults={"eu-west-1": "throttled"},
    )
    knobs = new_world(settings, FakeClock()).knobs

    assert (knobs.seed, knobs.latency_ms, knobs.error_rate) == (7, 3.0, 0.1)
    assert knobs.region_faults == {"eu-west-1": RegionFault.THROTTLED}
    names = {f.name for f in fields(SimKnobs)}
    for setting in Settings.model_fields:
        if setting.startswith("sim_"):
            assert setting.removeprefix("sim_") in names, setting
