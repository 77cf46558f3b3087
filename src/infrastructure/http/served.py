"""What the HTTP layer reads of the running system: narrow façades, one per kind of
endpoint, each a protocol of the parts it may use (mypy holds an endpoint to its own).
The composition root's ``System`` has them all (``Served``; mypy checks it where
``create_app`` is called), so the endpoints are typed without importing the wiring.

- ``Reading``: queries, history, health (the read model, the log, the clock, run_sync);
- ``Acting``: commands (the group commit, idempotency, the cloud for admission);
- ``Administering``: jobs, leadership, discovery;
- ``Guarding``: tokens and sessions;
- ``Observed``: what ``/metrics`` reports;
- ``Parts``: what the wiring's builders read too (``wiring.parts.FleetParts``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar, TypeVarTuple, Unpack

if TYPE_CHECKING:
    from application.budgets import BudgetStore
    from application.cloud import CloudPort
    from application.cml import CmlPort
    from application.commands.group_commit import GroupCommit
    from application.jobs.discovery import Discovery
    from application.jobs.region_health import RegionHealth
    from application.labs import LabStore
    from application.ports import Clock
    from application.schedules import ScheduleStore
    from application.webhooks.ports import WebhookStore
    from infrastructure.fanout.hub import Hub
    from infrastructure.http.access.auth import AuthStore
    from infrastructure.http.idempotency import IdempotencyStore
    from infrastructure.read_model.model import ReadModel
    from infrastructure.running.leadership import LeaderGate
    from infrastructure.running.operations import LicenseTokenBox, OperationsReactor
    from infrastructure.running.scheduler import FleetScheduler
    from infrastructure.running.webhooks.delivery import WebhookDelivery
    from infrastructure.shared.configs import Configs
    from infrastructure.shared.settings import Settings
    from infrastructure.store.conflicts import ConflictRetries
    from infrastructure.store.event_store import FleetEventStore
    from infrastructure.store.metrics_history import MetricsHistory

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class Reading(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def store(self) -> FleetEventStore: ...
    @property
    def read_model(self) -> ReadModel: ...
    @property
    def metrics_history(self) -> MetricsHistory: ...
    @property
    def labs(self) -> LabStore: ...
    @property
    def schedules(self) -> ScheduleStore: ...
    @property
    def webhooks(self) -> WebhookStore: ...
    @property
    def budgets(self) -> BudgetStore: ...
    @property
    def configs(self) -> Configs: ...
    @property
    def hub(self) -> Hub:
        """Also how a settings change reaches live clients (``announce``)."""
        ...

    async def run_sync(self, fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T: ...


class Parts(Reading, Protocol):
    @property
    def cloud(self) -> CloudPort: ...
    @property
    def cml(self) -> CmlPort: ...


class Acting(Parts, Protocol):
    @property
    def commands(self) -> GroupCommit: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def license_tokens(self) -> LicenseTokenBox: ...


class Administering(Reading, Protocol):
    @property
    def scheduler(self) -> FleetScheduler: ...
    @property
    def leadership(self) -> LeaderGate: ...
    @property
    def discovery(self) -> Discovery: ...


class Guarding(Reading, Protocol):
    @property
    def auth(self) -> AuthStore: ...


class Observed(Administering, Parts, Protocol):
    @property
    def reactor(self) -> OperationsReactor | None: ...
    @property
    def region_health(self) -> RegionHealth: ...
    @property
    def conflicts(self) -> ConflictRetries: ...
    @property
    def webhook_delivery(self) -> WebhookDelivery: ...


class Served(Acting, Observed, Guarding, Protocol):
    """Every part the HTTP layer uses, and the app's lifespan."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
