"""``/healthz`` (the process answers) and ``/readyz`` (started, read model caught up;
``degraded`` with the problems when something keeps failing: ``infrastructure.running.health``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from application.contracts.responses import HealthProblem, HealthStatus
from infrastructure.http.handling import json_response, observing
from infrastructure.http.problems import RETRY_SOON, problem
from infrastructure.running.health import problems


async def healthz(request: Request) -> Response:
    return json_response(
        HealthStatus(status="ok", position=None, log_position=None).model_dump_json().encode()
    )


async def readyz(request: Request) -> Response:
    if not getattr(request.app.state, "started", False):
        return problem(request, 503, "the server is starting", kind="not-ready", headers=RETRY_SOON)
    system = observing(request)
    applied = await system.run_sync(system.read_model.position)
    logged = await system.run_sync(system.store.max_position)
    lag = logged - applied
    if lag > system.settings.ready_max_lag:
        detail = f"the read model is {lag} events behind the event log"
        return problem(
            request,
            503,
            detail,
            kind="not-ready",
            headers=RETRY_SOON,
            position=applied,
            log_position=logged,
        )
    found = tuple(HealthProblem(check=p.check, detail=p.detail) for p in problems(system))
    ready = HealthStatus(
        status="degraded" if found else "ready",
        position=applied,
        log_position=logged,
        problems=found,
    )
    return json_response(ready.model_dump_json().encode())
