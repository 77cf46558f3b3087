"""Response contracts of the operations engine's figures, generated from their
dataclasses (the field list is written once, there)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from application.contracts.worker_view import view_of
from application.costs import FleetCost, WorkerCost
from application.jobs.discovery import DiscoveryReport

_VIEWS: dict[type[Any], type[BaseModel]] = {}

if typing.TYPE_CHECKING:

    class WorkerCostView(BaseModel): ...

    class FleetCostView(BaseModel): ...

    class DiscoveryResult(BaseModel): ...

else:
    WorkerCostView = view_of(WorkerCost, "WorkerCostView", _VIEWS)
    FleetCostView = view_of(FleetCost, "FleetCostView", _VIEWS)
    DiscoveryResult = view_of(DiscoveryReport, "DiscoveryResult", _VIEWS)
