"""The operations engine's infrastructure: the reactor following the log, its tracked
position, the in-memory hand-off of license tokens, and the idle and discovery jobs.

:func:`install_operations` is called once by the composition root.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING

from application.jobs.discovery import Discovery, DiscoveryConfig
from application.jobs.idle import IdleJob, IdleJobConfig
from application.operations.context import OperationContext, OperationsConfig
from application.operations.engine import OperationEngine
from application.operations.retry import RetryPolicy
from infrastructure.operations.reactor import OperationsReactor
from infrastructure.operations.secrets import LicenseTokenBox
from infrastructure.operations.tracking import open_tracker

if TYPE_CHECKING:
    from infrastructure.parts import FleetParts
    from infrastructure.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["LicenseTokenBox", "OperationsReactor"]


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


def build_engine(system: FleetParts) -> OperationEngine:
    context = OperationContext(
        store=system.store,
        cloud=system.cloud,
        cml=system.cml,
        run_sync=system.run_sync,
        clock=system.clock,
        secrets=system.license_tokens,
        config=operations_config(system.settings),
        sleep=asyncio.sleep,
        random=random.random,
    )
    return OperationEngine(context)


def build_reactor(system: FleetParts) -> OperationsReactor:
    return OperationsReactor(
        store=system.store,
        engine=build_engine(system),
        tracker=open_tracker(system.settings, system.database),
        run_sync=system.run_sync,
        concurrency=system.settings.operations_concurrency,
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


def build_idle_job(system: FleetParts) -> IdleJob:
    return IdleJob(
        store=system.store,
        read_model=system.read_model,
        cml=system.cml,
        run_sync=system.run_sync,
        config=idle_job_config(system.settings),
    )


def build_discovery(system: FleetParts) -> Discovery:
    settings = system.settings
    config = DiscoveryConfig(
        regions=settings.discovery_regions,
        ami_ids=settings.discovery_ami_ids,
        ami_name_patterns=settings.discovery_ami_name_patterns,
        tags=dict(settings.discovery_tags),
        default_regions=settings.aws_regions,
    )
    return Discovery(
        store=system.store,
        read_model=system.read_model,
        cloud=system.cloud,
        run_sync=system.run_sync,
        config=config,
    )
