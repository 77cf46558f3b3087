"""The REST API's one table of operations: it builds the routes and the OpenAPI paths.

Roles: ``viewer`` reads and streams, ``operator`` starts/stops/pauses/resumes and sets
idle detection, ``admin`` creates, imports, terminates, releases, licenses and tags.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from application.contracts import requests as rq
from application.contracts import responses as rs
from application.contracts.operations import DiscoveryResult
from application.contracts.worker_view import WorkerView
from infrastructure.http import command_endpoints as cmd
from infrastructure.http import health_endpoints as health
from infrastructure.http import query_endpoints as qry
from infrastructure.http.security import session_routes
from infrastructure.http.tokens_api import token_routes
from infrastructure.operations import http as ops_http
from infrastructure.scheduler_api import job_routes
from infrastructure.sse.endpoint import sse_routes
from infrastructure.web.routes import web_routes

Endpoint = Callable[[Request], Awaitable[Response]]
W = "/api/workers/{id}"


@dataclass(frozen=True)
class Param:
    """A documented query parameter."""

    name: str
    type: str
    description: str
    repeated: bool = False


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


MIN_POSITION = Param("min_position", "integer", "Wait until the read model has this position.")
LIST_PARAMS = (
    Param("status", "string", "Only these statuses (repeat or comma-separate).", repeated=True),
    Param("region", "string", "Only this AWS region."),
    Param("q", "string", "Text in the name, instance id or tags."),
    Param(
        "sort",
        "string",
        "name, status, region, created_at, updated_at, instance_type; prefix - to sort descending.",
    ),
    Param("limit", "integer", "Page size, 1..500 (default 50)."),
    Param("cursor", "string", "next_cursor of the previous page."),
    MIN_POSITION,
)
PER_WORKER = Param("per_worker", "boolean", "Add each worker's cost to the summary.")
HISTORY_PARAMS = (
    Param("limit", "integer", "Page size, 1..500 (default 50)."),
    Param("before_version", "integer", "next_before_version of the previous page."),
)
ACCEPTED = rs.CommandAccepted


# fmt: off
def _command(
    method: str, path: str, endpoint: Endpoint, summary: str, role: str, status: int,
    body: type[BaseModel] | None = None,
) -> Operation:
    return Operation(method, path, endpoint, summary, role, status, body, ACCEPTED)


def _query(
    path: str, endpoint: Endpoint, summary: str, answer: type[BaseModel],
    params: tuple[Param, ...] = (MIN_POSITION,), role: str | None = "viewer",
) -> Operation:
    return Operation("GET", path, endpoint, summary, role, answer=answer, params=params)


# One line per operation: method, path, endpoint, summary, role, status, body.
OPERATIONS: tuple[Operation, ...] = (
    _command("POST", "/api/workers", cmd.create, "Request a new worker", "admin", 202,
             rq.CreateWorkerRequest),
    _command("POST", "/api/workers/import", cmd.import_, "Import an EC2 instance", "admin", 200,
             rq.ImportWorkerRequest),
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
             "admin", 202),
    _command("PATCH", f"{W}/tags", cmd.tags, "Add, change or remove tags", "admin", 200,
             rq.TagsPatchRequest),
    _query("/api/workers", qry.list_workers, "List workers", rs.WorkerPageResponse, LIST_PARAMS),
    _query(W, qry.get_worker, "Get one worker", WorkerView),
    _query(f"{W}/history", qry.worker_history, "A worker's events, newest first",
           rs.WorkerHistoryPage, HISTORY_PARAMS),
    _query("/api/fleet/summary", qry.fleet_summary, "Counts by status, running and saved cost",
           rs.FleetSummaryResponse, (MIN_POSITION, PER_WORKER)),
    Operation("POST", "/api/admin/discovery", ops_http.discover,
              "Import EC2 instances matching the discovery filters", "admin",
              answer=DiscoveryResult),
    _query("/healthz", health.healthz, "Liveness", rs.HealthStatus, (), role=None),
    _query("/readyz", health.readyz, "Readiness", rs.HealthStatus, (), role=None),
)
# fmt: on


def operation_routes(operations: tuple[Operation, ...] = OPERATIONS) -> list[Route]:
    """One route per path (so a wrong method gets 405 with the full ``Allow``); each
    method's endpoint is guarded by its role with ``requires``."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for op in operations:
        guarded = op.endpoint if op.role is None else requires(op.role)(op.endpoint)
        by_path.setdefault(op.path, {})[op.method] = guarded
    return [
        Route(path, _by_method(endpoints), methods=list(endpoints), name=path)
        for path, endpoints in by_path.items()
    ]


def _by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    if "GET" in endpoints:
        endpoints = {**endpoints, "HEAD": endpoints["GET"]}

    async def endpoint(request: Request) -> Response:
        return await endpoints[request.method](request)

    return endpoint


def all_routes() -> list[BaseRoute]:
    """Everything the app serves: the table, OpenAPI, login/logout, SSE and job routes."""
    from infrastructure.http.openapi import openapi_routes  # it documents this table

    return [
        *operation_routes(),
        *openapi_routes(),
        *session_routes(),
        *token_routes(),
        *sse_routes(),
        *job_routes(),
        *web_routes(),
    ]
