"""Settings become the small typed configs the components take, here and only here
(``bootstrap`` builds them once; a component never reads ``Settings`` field by field).
The adapters' own configs (``aws.config``, ``cml_http.config``) are built beside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.costs import Prices
from application.jobs.discovery import DiscoveryConfig
from application.jobs.idle import IdleJobConfig
from application.jobs.metrics import MetricsJobConfig
from application.operations.context import OperationsConfig
from application.operations.retry import RetryPolicy
from domain.values import MetricThresholds
from infrastructure.shared.settings import Settings


@dataclass(frozen=True)
class Configs:
    operations: OperationsConfig
    idle: IdleJobConfig
    metrics: MetricsJobConfig
    discovery: DiscoveryConfig
    prices: Prices


def configs_from(settings: Settings) -> Configs:
    return Configs(
        operations=operations_config(settings),
        idle=idle_job_config(settings),
        metrics=metrics_job_config(settings),
        discovery=discovery_config(settings),
        prices=prices_of(settings),
    )


def operations_config(settings: Settings) -> OperationsConfig:
    return OperationsConfig(
        retry=RetryPolicy(
            attempts=settings.operations_retry_attempts,
            base=settings.operations_retry_base_seconds,
            cap=settings.operations_retry_max_seconds,
        ),
        poll_interval=settings.license_poll_seconds,
        poll_max_interval=max(settings.license_poll_seconds, 15.0),
        license_timeout=timedelta(seconds=settings.license_timeout_seconds),
    )


def idle_job_config(settings: Settings) -> IdleJobConfig:
    return IdleJobConfig(
        enabled=settings.idle_detection_enabled,
        timeout=timedelta(minutes=settings.idle_timeout_minutes),
        snooze=timedelta(minutes=settings.idle_snooze_minutes),
        running_labs_signal=settings.idle_running_labs_signal,
        activity_refresh=timedelta(minutes=settings.idle_activity_refresh_minutes),
        check_before_pause=settings.idle_check_before_pause,
        service_account_pattern=settings.cml_service_account_pattern,
        concurrency=settings.job_concurrency,
        cml_timeout=settings.job_worker_timeout_seconds,
    )


def metrics_job_config(settings: Settings) -> MetricsJobConfig:
    return MetricsJobConfig(
        concurrency=settings.job_concurrency,
        thresholds=MetricThresholds(
            percent_points=settings.metric_percent_points,
            max_staleness_seconds=settings.metric_max_staleness_seconds,
        ),
        snapshot_every_n_cycles=settings.snapshot_every_n_cycles,
        backoff_base=timedelta(seconds=settings.metrics_interval_seconds),
        backoff_max=timedelta(seconds=settings.job_backoff_max_seconds),
        retention=timedelta(hours=settings.metrics_retention_hours),
        read_wait_timeout=settings.read_wait_timeout_seconds,
        worker_timeout=settings.job_worker_timeout_seconds,
        service_account_pattern=settings.cml_service_account_pattern,
        region_unhealthy_after=settings.health_failures_in_a_row,
        region_timeout=settings.job_region_timeout_seconds,
        labs_full_refresh_every_n_cycles=settings.labs_refresh_every_n_cycles,
    )


def discovery_config(settings: Settings) -> DiscoveryConfig:
    return DiscoveryConfig(
        regions=settings.discovery_regions,
        ami_ids=settings.discovery_ami_ids,
        ami_name_patterns=settings.discovery_ami_name_patterns,
        tags=dict(settings.discovery_tags),
        default_regions=settings.aws_regions,
    )


def prices_of(settings: Settings) -> Prices:
    return Prices(
        per_hour=dict(settings.instance_hourly_prices),
        default=settings.default_hourly_price,
        currency=settings.cost_currency,
    )
