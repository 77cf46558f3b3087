"""What the HTTP layer reads of the running system, as a protocol. The composition
root's ``System`` has these parts (mypy checks it where ``create_app`` is called), so the
endpoints are typed without importing the wiring that imports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from application.cloud import CloudPort
    from application.commands.group_commit import GroupCommit
    from application.jobs.discovery import Discovery
    from application.jobs.region_health import RegionHealth
    from application.ports import Clock
    from infrastructure.fanout.hub import Hub
    from infrastructure.http.access.auth import AuthStore
    from infrastructure.http.idempotency import IdempotencyStore
    from infrastructure.read_model.model import ReadModel
    from infrastructure.running.leadership import LeaderGate
    from infrastructure.running.operations import LicenseTokenBox, OperationsReactor
    from infrastructure.running.scheduler import FleetScheduler
    from infrastructure.shared.configs import Configs
    from infrastructure.shared.settings import Settings
    from infrastructure.store.conflicts import ConflictRetries
    from infrastructure.store.event_store import FleetEventStore
    from infrastructure.store.metrics_history import MetricsHistory

T = TypeVar("T")


class Parts(Protocol):
    """What the system is built on: the wiring's builders read these too
    (``wiring.parts.FleetParts``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def store(self) -> FleetEventStore: ...
    @property
    def read_model(self) -> ReadModel: ...
    @property
    def hub(self) -> Hub: ...
    @property
    def cloud(self) -> CloudPort: ...
    @property
    def metrics_history(self) -> MetricsHistory: ...
    @property
    def configs(self) -> Configs: ...

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T: ...


class Served(Parts, Protocol):
    """The parts the endpoints, the stream and ``/metrics`` use, and the app's lifespan."""

    @property
    def license_tokens(self) -> LicenseTokenBox: ...
    @property
    def commands(self) -> GroupCommit: ...
    @property
    def auth(self) -> AuthStore: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def scheduler(self) -> FleetScheduler: ...
    @property
    def leadership(self) -> LeaderGate: ...
    @property
    def reactor(self) -> OperationsReactor | None: ...
    @property
    def discovery(self) -> Discovery: ...
    @property
    def region_health(self) -> RegionHealth: ...
    @property
    def conflicts(self) -> ConflictRetries: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
