"""``POST /api/admin/discovery`` (admin): run discovery now and answer with its counts."""

from __future__ import annotations

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from application.jobs.discovery import DiscoveryReport
from infrastructure.http.handling import administering, json_response
from infrastructure.http.problems import problem

_REPORT = TypeAdapter(DiscoveryReport)


async def discover(request: Request) -> Response:
    system = administering(request)
    if system.discovery is None:
        return problem(request, 503, "discovery needs the cloud port and the read model")
    report = await system.discovery.run(system.clock.now())
    return json_response(_REPORT.dump_json(report))
