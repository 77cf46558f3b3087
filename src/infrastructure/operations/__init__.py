"""The operations engine's infrastructure: the reactor following the log, its tracked
position, the in-memory hand-off of license tokens, and the idle and discovery jobs.

:func:`install_operations` is called once by the composition root.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from application.jobs.discovery import Discovery
from application.jobs.idle import IdleJob
from application.operations.context import OperationContext
from application.operations.engine import OperationEngine
from infrastructure.operations.reactor import OperationsReactor
from infrastructure.operations.secrets import LicenseTokenBox
from infrastructure.operations.tracking import open_tracker

if TYPE_CHECKING:
    from infrastructure.parts import FleetParts

log = logging.getLogger(__name__)

__all__ = ["LicenseTokenBox", "OperationsReactor"]


def build_engine(system: FleetParts) -> OperationEngine:
    context = OperationContext(
        store=system.store,
        cloud=system.cloud,
        cml=system.cml,
        run_sync=system.run_sync,
        clock=system.clock,
        secrets=system.license_tokens,
        config=system.configs.operations,
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


def build_idle_job(system: FleetParts) -> IdleJob:
    return IdleJob(
        store=system.store,
        read_model=system.read_model,
        cml=system.cml,
        run_sync=system.run_sync,
        config=system.configs.idle,
    )


def build_discovery(system: FleetParts) -> Discovery:
    return Discovery(
        store=system.store,
        read_model=system.read_model,
        cloud=system.cloud,
        run_sync=system.run_sync,
        config=system.configs.discovery,
    )
