"""What the builders of jobs and engines read of a built system, as a protocol:
``bootstrap`` builds them from its ``Core`` and the tests from a ``System`` (both have
these parts), and the builders never import the composition root that imports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from application.cloud import CloudPort
    from application.cml import CmlPort
    from application.operations.context import SecretSource
    from application.ports import Clock
    from infrastructure.fanout.hub import Hub
    from infrastructure.read_model.model import ReadModel
    from infrastructure.shared.configs import Configs
    from infrastructure.shared.postgres.database import Database
    from infrastructure.shared.settings import Settings
    from infrastructure.store.event_store import FleetEventStore
    from infrastructure.store.metrics_history import MetricsHistory

T = TypeVar("T")


class FleetParts(Protocol):
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
    def cml(self) -> CmlPort: ...
    @property
    def database(self) -> Database | None: ...
    @property
    def metrics_history(self) -> MetricsHistory: ...
    @property
    def license_tokens(self) -> SecretSource: ...
    @property
    def configs(self) -> Configs: ...

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T: ...
