"""Builders of the parts that act: the operations engine and reactor, the metrics, idle
and discovery jobs, and the PostgreSQL LISTEN thread. Each reads what it needs of a
built system through ``FleetParts``; ``bootstrap`` calls them, and so do tests and
benchmarks that build one part on its own."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from application.commands.group_commit import GroupCommit
from application.errors import WorkerNotFound
from application.jobs.budget_job import BudgetJob
from application.jobs.discovery import Discovery
from application.jobs.idle import IdleJob
from application.jobs.metrics import MetricsJob
from application.jobs.notices import Notices
from application.jobs.schedule_job import ScheduleJob
from application.operations.context import OperationContext
from application.operations.engine import OperationEngine
from application.queries import GetWorker
from infrastructure.fanout.hub import Hub
from infrastructure.fanout.postgres import ClusterHub, snapshots_channel
from infrastructure.read_model import ReadModel, fingerprint, idle_defaults
from infrastructure.read_model.follower import BATCH_SIZE
from infrastructure.read_model.projection import CACHE_SIZE
from infrastructure.read_model.sqlite.connections import Connections
from infrastructure.read_model.sqlite.view import WorkerView
from infrastructure.read_model.view import WorkerViewBase
from infrastructure.running.operations.reactor import OperationsReactor
from infrastructure.running.operations.tracking import open_tracker
from infrastructure.running.webhooks.delivery import WebhookDelivery
from infrastructure.shared.postgres.config import connection_kwargs, dsn_of
from infrastructure.shared.postgres.database import Database
from infrastructure.shared.postgres.notify import Listener
from infrastructure.shared.settings import Settings

READ_MODEL_FILE = "readmodel.sqlite"

if TYPE_CHECKING:
    from infrastructure.store.event_store import FleetEventStore
    from infrastructure.wiring.parts import FleetParts


def build_engine(system: FleetParts, commits: GroupCommit | None = None) -> OperationEngine:
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
        labs=system.labs,
        commits=commits,
    )
    return OperationEngine(context)


def build_reactor(system: FleetParts, commits: GroupCommit | None = None) -> OperationsReactor:
    """The reactor; its outcomes are recorded through ``commits`` (the operator
    commands' group commit) when given, so they share transactions with the commands
    that caused them instead of taking the store's writer one at a time."""
    return OperationsReactor(
        store=system.store,
        engine=build_engine(system, commits),
        tracker=open_tracker(system.settings, system.database),
        run_sync=system.run_sync,
        concurrency=system.settings.operations_concurrency,
    )


def build_webhook_delivery(system: FleetParts) -> WebhookDelivery:
    settings, clock, read_model = system.settings, system.clock, system.read_model

    def name_of(worker_id: str) -> str | None:
        try:
            return read_model.get_worker(GetWorker(UUID(worker_id))).name
        except WorkerNotFound:
            return None

    return WebhookDelivery(
        store=system.store,
        webhooks=system.webhooks,
        run_sync=system.run_sync,
        now=lambda: clock.now().timestamp(),
        name_of=name_of,
        max_attempts=settings.webhook_max_attempts,
        timeout=settings.webhook_timeout_seconds,
        retention_seconds=settings.webhook_retention_days * 86400,
    )


def build_idle_job(system: FleetParts) -> IdleJob:
    return IdleJob(
        store=system.store,
        read_model=system.read_model,
        cml=system.cml,
        run_sync=system.run_sync,
        config=system.configs.idle,
        labs=system.labs,
        notices=build_notices(system),
    )


def build_notices(system: FleetParts) -> Notices:
    return Notices(
        store=system.store,
        cml=system.cml,
        run_sync=system.run_sync,
        minutes=system.settings.notice_minutes,
    )


def build_schedule_job(system: FleetParts) -> ScheduleJob:
    return ScheduleJob(
        store=system.store,
        read_model=system.read_model,
        schedules=system.schedules,
        run_sync=system.run_sync,
        notices=build_notices(system),
    )


def build_budget_job(system: FleetParts) -> BudgetJob:
    return BudgetJob(
        store=system.store,
        read_model=system.read_model,
        budgets=system.budgets,
        webhooks=system.webhooks,
        prices=system.configs.prices,
        run_sync=system.run_sync,
        feed=system.hub,
    )


def build_discovery(system: FleetParts) -> Discovery:
    return Discovery(
        store=system.store,
        read_model=system.read_model,
        cloud=system.cloud,
        run_sync=system.run_sync,
        config=system.configs.discovery,
    )


def build_metrics_job(system: FleetParts) -> MetricsJob:
    """The metrics job over the system's ports, read model, hub and history."""
    return MetricsJob(
        store=system.store,
        read_model=system.read_model,
        cloud=system.cloud,
        cml=system.cml,
        run_sync=system.run_sync,
        hub=system.hub,
        history=system.metrics_history,
        config=system.configs.metrics,
        labs=system.labs,
    )


def build_listener(
    settings: Settings, store: FleetEventStore, hub: Hub, database: Database | None
) -> Listener | None:
    """The LISTEN thread of a process on PostgreSQL: wakes the log's followers when any
    process appends, and relays snapshot broadcasts to the hub."""
    if database is None:
        return None
    channel = cast(Any, store.recorder).channel_name  # the PostgreSQL recorder's
    handlers: dict[str, Any] = {channel: lambda _: store.wake()}
    if isinstance(hub, ClusterHub):
        handlers[snapshots_channel(database.schema)] = hub.on_announcement
    return Listener(dsn_of(settings), connection_kwargs(settings), handlers)


def build_read_model(
    settings: Settings,
    store: FleetEventStore,
    *,
    batch_size: int = BATCH_SIZE,
    cache_size: int = CACHE_SIZE,
    database: Database | None = None,
) -> ReadModel:
    """The read model for ``settings``, on the backend they choose: SQLite in memory or
    ``readmodel.sqlite`` in the data dir, or PostgreSQL tables shared by every process
    (on ``database``; a pool of its own when not given)."""
    idle = idle_defaults(settings)
    view: WorkerViewBase
    if settings.persistence == "postgres":
        from infrastructure.read_model.postgres.view import open_view  # psycopg: only here

        view = open_view(settings, database, store.name, fingerprint(idle))
    else:
        path = settings.data_file(READ_MODEL_FILE)
        view = WorkerView(Connections(path), store.name, fingerprint(idle))
    return ReadModel(
        view,
        store,
        idle,
        batch_size=batch_size,
        cache_size=cache_size,
        hot_rows=settings.read_model_hot_rows,
    )
