"""The one composition root. The HTTP app, the CLI, the jobs and the tests build the
system here; tests pass fakes (clock, cloud, CML) and settings.

Each component is built in ``bootstrap`` and started/stopped by ``System.start`` /
``System.stop`` (the app's lifespan calls them; tests may call them directly).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from application.commands.group_commit import GroupCommit
from application.jobs.region_health import RegionHealth
from application.ports import Clock
from infrastructure.aws import build_cloud as build_aws_cloud
from infrastructure.clock import SystemClock
from infrastructure.cml_http import build_cml as build_http_cml
from infrastructure.conflicts import ConflictRetries
from infrastructure.event_store import FleetEventStore
from infrastructure.http.auth import AuthStore
from infrastructure.http.idempotency import IdempotencyStore
from infrastructure.leadership import build_leadership
from infrastructure.metrics_history import open_metrics_history
from infrastructure.operations import (
    LicenseTokenBox,
    build_discovery,
    build_idle_job,
    build_reactor,
)
from infrastructure.postgres import (
    build_cluster_hub,
    build_listener,
    eventsourcing_env,
    open_database,
)
from infrastructure.read_model import build_read_model
from infrastructure.scheduler import build_metrics_job, build_scheduler
from infrastructure.settings import Settings
from infrastructure.simulated import fleet_ports
from infrastructure.sse import build_hub

log = logging.getLogger(__name__)
T = TypeVar("T")


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured persistence."""
    if settings.persistence == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if settings.persistence == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.data_dir / "events.sqlite"),
        }
    return eventsourcing_env(settings)  # postgres: tables made by `cml-fleet db init`


@dataclass
class System:
    """Everything the entry points need, built once by :func:`bootstrap`.

    Components typed ``Any`` are filled in by their own modules' builders.
    """

    settings: Settings
    clock: Clock
    store: FleetEventStore
    limiter: anyio.CapacityLimiter
    read_model: Any = None  # infrastructure.read_model: rows + projection follower
    hub: Any = None  # infrastructure.sse: in-process fan-out
    cloud: Any = None  # application.ports.CloudPort (simulated by default)
    cml: Any = None  # application.ports.CmlPort (simulated by default)
    scheduler: Any = None  # infrastructure.scheduler: APScheduler jobs
    auth: Any = None  # infrastructure.http.auth: token store
    idempotency: Any = None  # infrastructure.http.idempotency: stored answers
    metrics_history: Any = None  # infrastructure.metrics_history: utilization samples
    reactor: Any = None  # infrastructure.operations: carries out requested cloud operations
    database: Any = None  # infrastructure.postgres.Database: our pool (postgres only)
    log_listener: Any = None  # infrastructure.postgres: LISTEN thread (postgres only)
    leadership: Any = None  # infrastructure.leadership: runs the leader parts when elected
    license_tokens: Any = None  # infrastructure.operations: in-memory license token hand-off
    discovery: Any = None  # application.jobs.discovery: imports matching EC2 instances
    commands: Any = None  # application.commands.group_commit: operator commands saved together
    region_health: RegionHealth | None = None  # how each region answers the metrics job
    conflicts: ConflictRetries = field(default_factory=ConflictRetries)  # retried, for /metrics
    _stoppers: list[Callable[[], Any]] = field(default_factory=list)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Call the synchronous store/read model off the event loop (bounded threads)."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    def shared_parts(self) -> tuple[Any, ...]:
        """Parts every process runs: the read side and the adapters."""
        return (self.log_listener, self.read_model, self.hub, self.cml)

    def leader_parts(self) -> tuple[Any, ...]:
        """Parts exactly one process runs: whatever acts on the cloud or runs jobs."""
        return (self.reactor, self.scheduler)

    async def start(self) -> None:
        """Start background parts in order: shared parts, then leader parts (at once, or
        whenever ``leadership`` elects this process). Needs a loop."""
        parts = self.shared_parts()
        if self.leadership is None:
            parts = (*parts, *self.leader_parts())
        for part in parts:
            if part is not None and hasattr(part, "start"):
                result = part.start()
                if hasattr(result, "__await__"):
                    await result
                self._stoppers.append(part.stop)
        if self.leadership is not None:
            await self.leadership.start(self.leader_parts())
            self._stoppers.append(self.leadership.stop)

    async def stop(self) -> None:
        """Stop what was started, newest first."""
        while self._stoppers:
            result = self._stoppers.pop()()
            if hasattr(result, "__await__"):
                await result

    def close(self) -> None:
        """Release connections and files (after :meth:`stop`); unusable afterwards."""
        for part in (self.read_model, self.auth, self.idempotency, self.metrics_history):
            if part is not None and hasattr(part, "close"):
                part.close()
        self.store.close()
        if self.database is not None:
            self.database.close()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    cloud: Any = None,
    cml: Any = None,
) -> System:
    """Build the system. ``cloud``/``cml`` override the configured adapters (tests)."""
    settings = settings or Settings()
    database = open_database(settings)  # None unless postgres (then the schema is checked)
    conflicts = ConflictRetries()
    store = FleetEventStore(
        event_store_env(settings),
        cache_size=settings.worker_cache_size,
        conflict_observer=conflicts,
    )
    system = System(
        settings=settings,
        clock=clock or SystemClock(),
        store=store,
        limiter=anyio.CapacityLimiter(settings.thread_limit),
        conflicts=conflicts,
    )
    # Each line below is owned by the module it calls; keep them one per component.
    cloud = cloud if cloud is not None else build_aws_cloud(settings)  # None unless aws
    cml = cml if cml is not None else build_http_cml(settings, system.clock)  # None unless http
    system.cloud, system.cml = fleet_ports(settings, system.clock, cloud, cml)
    system.database = database
    system.auth = AuthStore.for_settings(settings, system.clock, database)
    system.idempotency = IdempotencyStore.for_settings(settings, system.clock, database)
    system.commands = GroupCommit(system.store, system.run_sync, settings.command_batch_size)
    system.read_model = build_read_model(settings, system.store, database=database)
    system.hub = build_hub(system) if database is None else build_cluster_hub(system)
    system.metrics_history = open_metrics_history(settings, database)
    system.leadership = build_leadership(settings, system.clock, database)
    system.log_listener = build_listener(system)
    system.scheduler = build_scheduler(system.clock, settings)
    system.license_tokens = LicenseTokenBox(
        system.clock, timedelta(seconds=settings.license_token_ttl_seconds)
    )
    if system.cloud is None or system.cml is None or system.read_model is None:
        log.warning("jobs and operations not built: cloud, CML or read model not configured")
        return system
    if settings.operations_enabled:
        system.reactor = build_reactor(system)
    system.discovery = build_discovery(system)
    register_jobs(system)
    return system


def register_jobs(system: System) -> None:
    """Every scheduled job, in one place: metrics, idle detection, discovery."""
    settings, now = system.settings, system.clock.now
    metrics, idle, discovery = build_metrics_job(system), build_idle_job(system), system.discovery
    system.region_health = metrics.regions
    jobs = [
        ("metrics", "Metrics collection", metrics.run, settings.metrics_interval_seconds),
        ("idle", "Idle detection", idle.run, settings.idle_interval_seconds),
    ]
    if settings.discovery_enabled:
        jobs.append(
            ("discovery", "Discovery of EC2 instances", discovery.run,
             settings.discovery_interval_seconds)
        )  # fmt: skip
    for job_id, name, run, interval in jobs:
        system.scheduler.add_job(job_id, name, _at_now(run, now), interval)


def _at_now(run: Callable[[datetime], Awaitable[Any]], now: Callable[[], datetime]) -> Any:
    """The job's function: ``run`` as of the clock's time when it runs."""
    return lambda: run(now())
