"""The REST API's one table of operations: it builds the routes and the OpenAPI paths.

Roles: ``viewer`` reads and streams (and downloads labs), ``operator``
starts/stops/pauses/resumes, sets idle detection and starts, stops and wipes labs,
``admin`` creates, imports, terminates, releases, licenses, tags, deletes and imports labs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application.contracts import requests as rq
from application.contracts import responses as rs
from application.contracts.operations import DiscoveryResult
from application.contracts.worker_view import WorkerView
from application.labs import CURSOR_PATTERN as LAB_CURSOR
from application.labs import LAB_STATES
from application.queries import CURSOR_PATTERN
from domain.labs import LAB_ID_PATTERN
from domain.schedules import NAME_PATTERN as SCHEDULE_NAME_PATTERN
from infrastructure.http import budget_endpoints as budgets
from infrastructure.http import command_endpoints as cmd
from infrastructure.http import discovery_endpoints as ops_http
from infrastructure.http import health_endpoints as health
from infrastructure.http import query_endpoints as qry
from infrastructure.http import schedule_endpoints as sched
from infrastructure.http import webhook_endpoints as hooks
from infrastructure.http.handling import FALSE, TRUE
from infrastructure.http.labs import endpoints as labs
from infrastructure.http.labs.topology import TOPOLOGY_MEDIA
from infrastructure.http.visibility import visible_only

Endpoint = Callable[[Request], Awaitable[Response]]
W = "/api/workers/{id}"


@dataclass(frozen=True)
class Param:
    """A documented parameter: its JSON Schema is what the endpoint enforces."""

    name: str
    schema: Mapping[str, Any]
    description: str
    where: str = "query"  # or "path", "header"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: Endpoint
    summary: str
    role: str | None  # None: public
    status: int = 200
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()  # problem statuses besides those of every request
    keyed: bool = False  # takes Idempotency-Key
    body_media: str | None = None  # a body that is not JSON: its media type (a string)
    answer_media: str | None = None  # an answer that is not JSON: its media type


INT64_MAX = 2**63 - 1
MIN_POSITION = Param(
    "min_position",
    {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
    "Wait until the read model has this position (a command's answer gave it); 409 when "
    "the event log itself has not reached it, 503 when the read model is still behind.",
)
WAITS = (409, 503)  # what MIN_POSITION can answer


def limit_param(most: int, default: int) -> Param:
    schema = {"type": "integer", "minimum": 1, "maximum": most}
    return Param("limit", schema, f"Page size, 1..{most} (default {default}).")


LIST_PARAMS = (
    Param(
        "status",
        {"type": "array", "items": {"type": "string", "pattern": qry.STATUS_PATTERN}},
        "Only these statuses (repeat, or comma-separate in one value).",
    ),
    Param("region", {"type": "string"}, "Only this AWS region."),
    Param("q", {"type": "string"}, "Text in the name, instance id or tags."),
    Param(
        "sort",
        {"type": "string", "enum": list(qry.SORT_VALUES)},
        "The order (default name); a - before the field sorts descending.",
    ),
    limit_param(qry.MAX_PAGE_SIZE, qry.PAGE_SIZE),
    Param(
        "cursor",
        {"type": "string", "pattern": CURSOR_PATTERN},
        "next_cursor of the previous page (it keeps that page's sort).",
    ),
    MIN_POSITION,
)
PER_WORKER = Param(
    "per_worker", {"type": "string", "enum": [*TRUE, *FALSE]}, "Add each worker's cost."
)
HISTORY_PARAMS = (
    limit_param(qry.MAX_PAGE_SIZE, qry.PAGE_SIZE),
    Param(
        "before_version",
        {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
        "next_before_version of the previous page.",
    ),
)
ACCEPTED = rs.CommandAccepted
L = f"{W}/labs/{{lab_id}}"
LAB_ID = Param(
    "lab_id",
    {"type": "string", "format": "uuid", "pattern": LAB_ID_PATTERN},
    "The CML lab's id, a lowercase UUID4 (another UUID is refused with 422; what is no "
    "UUID names no lab: 404).",
    "path",
    True,
)
LAB_LIST_PARAMS = (
    Param("worker", {"type": "string", "format": "uuid"}, "Only this worker's labs."),
    Param("owner", {"type": "string"}, "Only labs of this CML user name."),
    Param("state", {"type": "string", "enum": list(LAB_STATES)}, "Only labs in this state."),
    limit_param(labs.MAX_PAGE_SIZE, labs.PAGE_SIZE),
    Param("cursor", {"type": "string", "pattern": LAB_CURSOR}, "next_cursor of the previous page."),
)
SCHEDULE = "/api/schedules/{name}"
SCHEDULE_NAME = Param(
    "name",
    {"type": "string", "pattern": SCHEDULE_NAME_PATTERN},
    "The schedule's name: 1-63 of a-z, 0-9 and -, starting with a letter or digit.",
    "path",
    True,
)
BUDGET = "/api/budgets/{name}"
BUDGET_NAME = Param(
    "name", {"type": "string", "pattern": SCHEDULE_NAME_PATTERN},
    "The budget's name: 1-63 of a-z, 0-9 and -, starting with a letter or digit.", "path", True,
)  # fmt: skip
WEBHOOK = "/api/webhooks/{name}"
WEBHOOK_NAME = Param(
    "name", {"type": "string", "pattern": SCHEDULE_NAME_PATTERN},
    "The webhook's id: 1-63 of a-z, 0-9 and -, starting with a letter or digit.", "path", True,
)  # fmt: skip
DELIVERY_PARAMS = (
    Param("webhook", {"type": "string"}, "Only this webhook's deliveries."),
    Param("state", {"type": "string", "enum": ["pending", "delivered", "dead"]},
          "Only deliveries in this state (dead: the dead letters)."),
    limit_param(hooks.MAX_PAGE_SIZE, hooks.PAGE_SIZE),
)  # fmt: skip
DELIVERY = Param(
    "delivery", {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
    "The delivery's number.", "path", True,
)  # fmt: skip
TITLE = Param(
    "title",
    {"type": "string", "minLength": 1, "maxLength": 64},
    "Title of the new lab (default: the topology's own).",
)
ON_WORKER = (404, 409, 422)  # no such worker; refused in its status or a race; bad body/key
NEW = (409, 422, 503)  # key in use; invalid; the cloud did not answer a needed question


# fmt: off
def _command(
    method: str, path: str, endpoint: Endpoint, summary: str, role: str, status: int,
    body: type[BaseModel] | None = None, errors: tuple[int, ...] = ON_WORKER,
) -> Operation:
    errors = (*errors, 415) if body is not None else errors
    return Operation(method, path, endpoint, summary, role, status, body, ACCEPTED, (), errors,
                     keyed=method == "POST")


def _query(
    path: str, endpoint: Endpoint, summary: str, answer: type[BaseModel],
    params: tuple[Param, ...] = (MIN_POSITION,), role: str | None = "viewer",
    errors: tuple[int, ...] = (*WAITS, 422),
) -> Operation:
    if "{id}" in path:
        errors = (*errors, 404)
    return Operation("GET", path, endpoint, summary, role, answer=answer, params=params,
                     errors=errors)


# One line per operation: method, path, endpoint, summary, role, status, body.
OPERATIONS: tuple[Operation, ...] = (
    _command("POST", "/api/workers", cmd.create, "Request a new worker", "admin", 202,
             rq.CreateWorkerRequest, NEW),
    _command("POST", "/api/workers/import", cmd.import_, "Import an EC2 instance", "admin", 200,
             rq.ImportWorkerRequest, (404, *NEW)),
    _command("POST", f"{W}/start", cmd.start, "Start a stopped worker", "operator", 202),
    _command("POST", f"{W}/stop", cmd.stop, "Stop a worker", "operator", 202),
    _command("POST", f"{W}/pause", cmd.pause, "Pause a running worker", "operator", 202),
    _command("POST", f"{W}/resume", cmd.resume, "Resume a paused worker", "operator", 202),
    _command("POST", f"{W}/terminate", cmd.terminate, "Terminate a worker", "admin", 202),
    _command("POST", f"{W}/release", cmd.release, "Release a worker from management (final)",
             "admin", 200, rq.ReleaseRequest),
    _command("PUT", f"{W}/idle-detection", cmd.idle_detection, "Configure idle auto-pause",
             "operator", 200, rq.IdleDetectionRequest),
    _command("POST", f"{W}/license", cmd.register_license, "Register the CML license", "admin",
             202, rq.LicenseRequest),
    _command("DELETE", f"{W}/license", cmd.deregister_license, "Deregister the CML license",
             "admin", 202, errors=(404, 409)),
    _command("PATCH", f"{W}/tags", cmd.tags, "Add, change or remove tags", "admin", 200,
             rq.TagsPatchRequest),
    _command("PUT", f"{W}/team", cmd.team, "Move a worker to a team (or to none)", "admin", 200,
             rq.TeamRequest),
    _command("PUT", f"{W}/schedule-override", cmd.schedule_override,
             "Keep a worker running until a time, whatever its schedule says", "operator", 200,
             rq.ScheduleOverrideRequest),
    _query("/api/workers", qry.list_workers, "List workers", rs.WorkerPageResponse, LIST_PARAMS),
    _query(W, qry.get_worker, "Get one worker", WorkerView),
    _query(f"{W}/history", qry.worker_history, "A worker's events, newest first",
           rs.WorkerHistoryPage, HISTORY_PARAMS, errors=(422,)),
    _query("/api/fleet/summary", qry.fleet_summary, "Counts by status, running and saved cost",
           rs.FleetSummaryResponse, (MIN_POSITION, PER_WORKER)),
    _query(f"{W}/labs", labs.worker_labs, "A worker's labs, as last seen", rs.WorkerLabsResponse,
           ()),
    _query("/api/labs", labs.fleet_labs, "The fleet's labs", rs.LabPageResponse,
           LAB_LIST_PARAMS, errors=(422,)),
    Operation("POST", f"{W}/labs/import", labs.import_, "Import a lab from its YAML", "admin",
              202, answer=ACCEPTED, params=(TITLE,), errors=(*ON_WORKER, 413, 415), keyed=True,
              body_media=TOPOLOGY_MEDIA),
    Operation("GET", f"{L}/download", labs.download, "A lab's topology (CML YAML)", "viewer",
              params=(LAB_ID,), errors=(404, 409, 422, 502), answer_media=TOPOLOGY_MEDIA),
    Operation("POST", f"{L}/start", labs.start, "Start a lab", "operator", 202, answer=ACCEPTED,
              params=(LAB_ID,), errors=ON_WORKER, keyed=True),
    Operation("POST", f"{L}/stop", labs.stop, "Stop a lab", "operator", 202, answer=ACCEPTED,
              params=(LAB_ID,), errors=ON_WORKER, keyed=True),
    Operation("POST", f"{L}/wipe", labs.wipe, "Wipe a stopped lab", "operator", 202,
              answer=ACCEPTED, params=(LAB_ID,), errors=ON_WORKER, keyed=True),
    Operation("DELETE", L, labs.delete, "Delete a stopped lab", "admin", 202, answer=ACCEPTED,
              params=(LAB_ID,), errors=ON_WORKER),
    Operation("GET", "/api/schedules", sched.list_schedules,
              "The office-hours schedules, and where each stands now", "viewer",
              answer=rs.ScheduleList, errors=()),
    Operation("GET", SCHEDULE, sched.get_schedule, "One schedule", "viewer",
              answer=rs.ScheduleView, params=(SCHEDULE_NAME,), errors=(404, 422)),
    Operation("PUT", SCHEDULE, sched.put_schedule, "Define or change a schedule", "admin",
              body=rq.ScheduleRequest, answer=rs.ScheduleView, params=(SCHEDULE_NAME,),
              errors=(415, 422)),
    Operation("DELETE", SCHEDULE, sched.delete_schedule, "Remove a schedule", "admin", 204,
              params=(SCHEDULE_NAME,), errors=(404, 422)),
    Operation("GET", "/api/budgets", budgets.list_budgets,
              "Monthly budgets with this month's spend and forecast", "viewer",
              answer=rs.BudgetList, errors=()),
    Operation("GET", BUDGET, budgets.get_budget, "One budget", "viewer", answer=rs.BudgetView,
              params=(BUDGET_NAME,), errors=(404, 422)),
    Operation("PUT", BUDGET, budgets.put_budget, "Define or change a budget", "admin",
              body=rq.BudgetRequest, answer=rs.BudgetView, params=(BUDGET_NAME,),
              errors=(415, 422)),
    Operation("DELETE", BUDGET, budgets.delete_budget, "Remove a budget", "admin", 204,
              params=(BUDGET_NAME,), errors=(404, 422)),
    Operation("POST", f"{BUDGET}/lift", budgets.lift_budget,
              "Stop enforcing a budget for the rest of this month", "admin",
              answer=rs.BudgetView, params=(BUDGET_NAME,), errors=(404, 409, 422)),
    Operation("GET", "/api/fleet/daily-costs", budgets.daily_costs,
              "Running cost per day this month (the workers you see)", "viewer",
              answer=rs.DailyCosts, errors=()),
    Operation("GET", "/api/webhooks", hooks.list_webhooks,
              "The webhook subscriptions and how their deliveries stand", "admin",
              answer=rs.WebhookList, errors=()),
    Operation("POST", "/api/webhooks", hooks.create_webhook, "Subscribe a receiver to events",
              "admin", 201, body=rq.WebhookRequest, answer=rs.WebhookView,
              errors=(409, 415, 422)),
    Operation("GET", WEBHOOK, hooks.get_webhook, "One webhook subscription", "admin",
              answer=rs.WebhookView, params=(WEBHOOK_NAME,), errors=(404, 422)),
    Operation("DELETE", WEBHOOK, hooks.delete_webhook,
              "Remove a webhook subscription and its deliveries", "admin", 204,
              params=(WEBHOOK_NAME,), errors=(404, 422)),
    Operation("GET", "/api/webhook-deliveries", hooks.list_deliveries,
              "Webhook deliveries, newest first (state=dead: the dead letters)", "admin",
              answer=rs.WebhookDeliveryList, params=DELIVERY_PARAMS, errors=(422,)),
    Operation("POST", "/api/webhook-deliveries/{delivery}/resend", hooks.resend_delivery,
              "Send a dead letter again", "admin", 202, params=(DELIVERY,), errors=(404,)),
    Operation("POST", "/api/admin/discovery", ops_http.discover,
              "Import EC2 instances matching the discovery filters", "admin",
              answer=DiscoveryResult, errors=(409, 422, 503)),
    _query("/healthz", health.healthz, "Liveness", rs.HealthStatus, (), role=None, errors=()),
    _query("/readyz", health.readyz, "Readiness (503 while starting or behind)", rs.HealthStatus,
           (), role=None, errors=(503,)),
)
# fmt: on


def operation_routes(operations: tuple[Operation, ...] = OPERATIONS) -> list[Route]:
    """One route per path (so a wrong method gets 405 with the full ``Allow``); each
    method's endpoint is guarded by its role with ``requires``."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for op in operations:
        seen = visible_only(op.endpoint) if op.path.startswith(W) else op.endpoint
        guarded = seen if op.role is None else requires(op.role)(seen)
        by_path.setdefault(op.path, {})[op.method] = guarded
    return [
        Route(uuid_ids(path), _by_method(endpoints), methods=list(endpoints), name=path)
        for path, endpoints in by_path.items()
    ]


def uuid_ids(path: str) -> str:
    """A worker's ``{id}`` matches a UUID only: ``GET /api/workers/import`` is then the
    import path's 405, not a lookup of a worker called "import"."""
    return (
        path.replace("/api/workers/{id}", "/api/workers/{id:uuid}")
        .replace("{lab_id}", "{lab_id:uuid}")
        .replace("{delivery}", "{delivery:int}")
    )


def _by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    if "GET" in endpoints:
        endpoints = {**endpoints, "HEAD": endpoints["GET"]}

    async def endpoint(request: Request) -> Response:
        return await endpoints[request.method](request)

    return endpoint
