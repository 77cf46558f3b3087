"""The one composition root. The HTTP app, the CLI, the jobs and the tests build the
system here; tests pass fakes (clock, cloud, CML) and settings.

Each component is built in ``bootstrap`` and started/stopped by ``System.start`` /
``System.stop`` (the app's lifespan calls them; tests may call them directly).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Protocol, TypeVar, TypeVarTuple, Unpack, runtime_checkable

import anyio
import anyio.to_thread

from application.cloud import CloudPort
from application.cml import CmlPort
from application.commands.group_commit import GroupCommit
from application.jobs.budget_job import BudgetJob
from application.jobs.discovery import Discovery
from application.jobs.idle import IdleJob
from application.jobs.metrics import MetricsJob
from application.jobs.region_health import RegionHealth
from application.jobs.schedule_job import ScheduleJob
from application.ports import Clock
from infrastructure.fanout import build_hub
from infrastructure.fanout.hub import Hub
from infrastructure.fanout.postgres import build_cluster_hub
from infrastructure.http.access.auth import AuthStore
from infrastructure.http.idempotency import IdempotencyStore
from infrastructure.outside.aws import build_cloud as build_aws_cloud
from infrastructure.outside.cml_http import build_cml as build_http_cml
from infrastructure.outside.simulated import fleet_ports
from infrastructure.read_model.model import ReadModel
from infrastructure.running.leadership import LeaderGate, build_leadership
from infrastructure.running.operations import LicenseTokenBox, OperationsReactor
from infrastructure.running.scheduler import FleetScheduler, JobFunction, build_scheduler
from infrastructure.running.webhooks.delivery import WebhookDelivery
from infrastructure.shared.clock import SystemClock
from infrastructure.shared.configs import Configs, configs_from
from infrastructure.shared.postgres import eventsourcing_env, open_database
from infrastructure.shared.postgres.database import Database
from infrastructure.shared.postgres.notify import Listener
from infrastructure.shared.settings import Settings
from infrastructure.store.budget_store import SqlBudgetStore
from infrastructure.store.conflicts import ConflictRetries
from infrastructure.store.event_store import FleetEventStore
from infrastructure.store.lab_sql import SqlLabStore
from infrastructure.store.lab_store import open_lab_store
from infrastructure.store.metrics_history import MetricsHistory, open_metrics_history
from infrastructure.store.schedule_store import SqlScheduleStore, open_schedule_store
from infrastructure.store.webhook_store import SqlWebhookStore, open_webhook_store
from infrastructure.wiring.builders import (
    build_budget_job,
    build_discovery,
    build_idle_job,
    build_listener,
    build_metrics_job,
    build_reactor,
    build_read_model,
    build_schedule_job,
    build_webhook_delivery,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured persistence."""
    if settings.persistence == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if settings.persistence == "sqlite":
        path = settings.data_file("events.sqlite")
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    return eventsourcing_env(settings)  # postgres: tables made by `cml-fleet db init`


@runtime_checkable
class Startable(Protocol):
    """A part with a life: started after the system is built, stopped before it closes
    (either may be a coroutine)."""

    def start(self) -> object: ...

    def stop(self) -> object: ...


@dataclass(frozen=True)
class Threads:
    """The bounded pool that runs the synchronous store and read model off the loop."""

    limiter: anyio.CapacityLimiter

    async def run_sync(self, fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)


@dataclass(frozen=True)
class Core:
    """The parts the others are built from (what ``parts.FleetParts`` names)."""

    settings: Settings
    clock: Clock
    store: FleetEventStore
    threads: Threads
    read_model: ReadModel
    hub: Hub
    cloud: CloudPort
    cml: CmlPort
    database: Database | None
    metrics_history: MetricsHistory
    labs: SqlLabStore
    schedules: SqlScheduleStore
    webhooks: SqlWebhookStore
    budgets: SqlBudgetStore
    license_tokens: LicenseTokenBox
    configs: Configs  # what each component takes of the settings

    async def run_sync(self, fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
        """Call the synchronous store/read model off the event loop (bounded threads)."""
        return await self.threads.run_sync(fn, *args)


@dataclass(frozen=True)
class System(Core):
    """Everything the entry points need, built once by :func:`bootstrap`, each part
    typed: the core and what is built from it. ``database``, ``log_listener``: PostgreSQL
    only; ``reactor``: when the operations engine is enabled."""

    scheduler: FleetScheduler
    auth: AuthStore
    idempotency: IdempotencyStore
    commands: GroupCommit
    leadership: LeaderGate
    log_listener: Listener | None
    reactor: OperationsReactor | None
    webhook_delivery: WebhookDelivery
    discovery: Discovery
    region_health: RegionHealth  # how each region answers the metrics job
    conflicts: ConflictRetries  # retried, for /metrics
    _stoppers: list[Callable[[], object]] = field(default_factory=list)

    def shared_parts(self) -> tuple[Startable, ...]:
        """Parts every process runs: the read side and the adapters."""
        parts = (self.log_listener, self.read_model, self.hub, self.cml)
        return tuple(p for p in parts if isinstance(p, Startable))

    def leader_parts(self) -> tuple[Startable, ...]:
        """Parts exactly one process runs: whatever acts on the cloud or runs jobs."""
        parts = (self.reactor, self.scheduler, self.webhook_delivery)
        return tuple(p for p in parts if p is not None)

    async def start(self) -> None:
        """Start the shared parts, then hand the leader parts to ``leadership`` (at once
        in a single process; whenever it is elected on PostgreSQL). Needs a loop."""
        for part in self.shared_parts():
            await _done(part.start())
            self._stoppers.append(part.stop)
        await self.leadership.start(self.leader_parts())
        self._stoppers.append(self.leadership.stop)

    async def stop(self) -> None:
        """Stop what was started, newest first."""
        while self._stoppers:
            await _done(self._stoppers.pop()())

    def close(self) -> None:
        """Release connections and files (after :meth:`stop`); unusable afterwards."""
        parts = (
            *(self.read_model, self.auth, self.idempotency, self.metrics_history, self.labs),
            *(self.schedules, self.webhooks),
        )
        for part in parts:
            part.close()
        self.store.close()
        if self.database is not None:
            self.database.close()


async def _done(result: object) -> None:
    if inspect.isawaitable(result):
        await result


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    cloud: CloudPort | None = None,
    cml: CmlPort | None = None,
) -> System:
    """Build the system, one line per part. ``cloud``/``cml`` replace the configured
    adapters (tests)."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    database = open_database(settings)  # None unless postgres (then the schema is checked)
    conflicts = ConflictRetries()
    store = FleetEventStore(
        event_store_env(settings),
        cache_size=settings.worker_cache_size,
        conflict_observer=conflicts,
    )
    cloud, cml = fleet_ports(
        settings,
        clock,
        cloud if cloud is not None else build_aws_cloud(settings),  # None unless aws
        cml if cml is not None else build_http_cml(settings, clock),  # None unless http
    )
    read_model = build_read_model(settings, store, database=database)
    webhooks = open_webhook_store(settings, database)
    hub = (  # the backend chosen here: one process, or several on PostgreSQL
        build_hub(settings, read_model, clock)
        if database is None
        else build_cluster_hub(settings, read_model, clock, database)
    )
    core = Core(
        settings=settings,
        clock=clock,
        store=store,
        threads=Threads(anyio.CapacityLimiter(settings.thread_limit)),
        read_model=read_model,
        hub=hub,
        cloud=cloud,
        cml=cml,
        database=database,
        metrics_history=open_metrics_history(settings, database),
        labs=open_lab_store(settings, database),
        schedules=open_schedule_store(settings, database),
        webhooks=webhooks,
        budgets=SqlBudgetStore(webhooks),
        license_tokens=LicenseTokenBox(
            clock, timedelta(seconds=settings.license_token_ttl_seconds)
        ),
        configs=configs_from(settings),
    )
    metrics, discovery = build_metrics_job(core), build_discovery(core)
    scheduler = build_scheduler(clock, settings)
    register_jobs(
        scheduler,
        core,
        metrics,
        build_idle_job(core),
        discovery,
        build_schedule_job(core),
        build_budget_job(core),
    )
    commands = GroupCommit(store, core.run_sync, settings.command_batch_size)
    return System(
        **{f.name: getattr(core, f.name) for f in fields(Core)},
        scheduler=scheduler,
        auth=AuthStore.for_settings(settings, clock, database),
        idempotency=IdempotencyStore.for_settings(settings, clock, database),
        commands=commands,
        leadership=build_leadership(settings, clock, database),
        log_listener=build_listener(settings, store, hub, database),
        reactor=build_reactor(core, commands) if settings.operations_enabled else None,
        webhook_delivery=build_webhook_delivery(core),
        discovery=discovery,
        region_health=metrics.regions,
        conflicts=conflicts,
    )


def register_jobs(
    scheduler: FleetScheduler,
    core: Core,
    metrics: MetricsJob,
    idle: IdleJob,
    discovery: Discovery,
    schedules: ScheduleJob,
    budgets: BudgetJob,
) -> None:
    """Every scheduled job, in one place: metrics, idle detection, schedules, budgets,
    discovery."""
    settings, now = core.settings, core.clock.now
    jobs = [
        ("metrics", "Metrics collection", metrics.run, settings.metrics_interval_seconds),
        ("idle", "Idle detection", idle.run, settings.idle_interval_seconds),
        ("schedules", "Office-hours schedules", schedules.run, settings.schedule_interval_seconds),
        ("budgets", "Monthly budgets", budgets.run, settings.budget_interval_seconds),
    ]
    if settings.discovery_enabled:
        jobs.append(
            ("discovery", "Discovery of EC2 instances", discovery.run,
             settings.discovery_interval_seconds)
        )  # fmt: skip
    for job_id, name, run, interval in jobs:
        scheduler.add_job(job_id, name, _at_now(run, now), interval)


def _at_now(
    run: Callable[[datetime], Awaitable[object]], now: Callable[[], datetime]
) -> JobFunction:
    """The job's function: ``run`` as of the clock's time when it runs."""
    return lambda: run(now())
