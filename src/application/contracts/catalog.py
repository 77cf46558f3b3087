"""The list of public contracts and their JSON Schemas, rendered deterministically.

``cml-fleet schemas export`` writes :func:`render_schemas` to ``schemas/``; a test
compares it with the committed files (:mod:`application.contracts.compat`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from application.contracts.base import VERSION, ExactJsonSchema, schema_id
from application.contracts.notifications import NOTIFICATION_CONTRACTS
from application.contracts.operations import DiscoveryResult
from application.contracts.requests import (
    BudgetRequest,
    CreateWorkerRequest,
    IdleDetectionRequest,
    ImportWorkerRequest,
    LicenseRequest,
    ReleaseRequest,
    ScheduleOverrideRequest,
    ScheduleRequest,
    TagsPatchRequest,
    TeamRequest,
    WebhookRequest,
)
from application.contracts.responses import (
    BudgetList,
    BudgetView,
    CommandAccepted,
    DailyCosts,
    FleetSummaryResponse,
    HealthStatus,
    LabPageResponse,
    ProblemDetails,
    ScheduleList,
    ScheduleView,
    WebhookDeliveryList,
    WebhookList,
    WebhookView,
    WorkerHistoryPage,
    WorkerLabsResponse,
    WorkerPageResponse,
)
from application.contracts.worker_view import WorkerView

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

REST_MODELS: tuple[type[BaseModel], ...] = (
    CreateWorkerRequest,
    ImportWorkerRequest,
    IdleDetectionRequest,
    LicenseRequest,
    ReleaseRequest,
    TeamRequest,
    TagsPatchRequest,
    CommandAccepted,
    WorkerView,
    WorkerPageResponse,
    FleetSummaryResponse,
    WorkerHistoryPage,
    WorkerLabsResponse,
    LabPageResponse,
    ProblemDetails,
    HealthStatus,
    DiscoveryResult,
    ScheduleRequest,
    ScheduleView,
    ScheduleList,
    ScheduleOverrideRequest,
    WebhookRequest,
    WebhookView,
    WebhookList,
    WebhookDeliveryList,
    BudgetRequest,
    BudgetView,
    BudgetList,
    DailyCosts,
)


def public_models() -> dict[str, type[BaseModel]]:
    """Every public contract by name: the REST bodies and the SSE stream's contracts."""
    models = (*REST_MODELS, *NOTIFICATION_CONTRACTS)
    return {model.__name__: model for model in models}


def contract_schema(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of one contract, with its versioned id and title."""
    schema = model.model_json_schema(schema_generator=ExactJsonSchema)
    return {
        **schema,
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(name),
        "title": f"{name} {VERSION}",
    }


def dump_schema(schema: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_schemas() -> dict[str, str]:
    """File path (relative to the schemas folder) to file text, for every contract."""
    return {
        f"{VERSION}/{name}.json": dump_schema(contract_schema(name, model))
        for name, model in sorted(public_models().items())
    }
