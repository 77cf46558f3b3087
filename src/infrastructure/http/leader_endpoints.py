"""``GET /api/admin/leader`` (admin): which process runs the jobs and the reactor.

Any process answers: it says which process leads (its id, host, pid, since when, the
term) and whether it is itself the leader. ``leader`` is ``null`` while no process
holds the lead (between a leader's death and the next election).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application.mapper import rfc3339
from infrastructure.http.handling import administering, json_response
from infrastructure.running.leadership.port import LeaderRecord, LeaderStatus, ProcessIdentity


@dataclass(frozen=True)
class ProcessView:
    """A ``cml-fleet serve`` process."""

    id: str
    host: str
    pid: int
    started_at: str | None


@dataclass(frozen=True)
class LeaderView:
    """The leading process and since when; ``term`` counts elections (PostgreSQL)."""

    id: str
    host: str
    pid: int
    since: str | None
    term: int | None


@dataclass(frozen=True)
class LeadershipView:
    election: str
    this_process: ProcessView
    this_process_leads: bool
    leader: LeaderView | None


_VIEW = TypeAdapter(LeadershipView)


def _process(identity: ProcessIdentity) -> ProcessView:
    return ProcessView(identity.id, identity.host, identity.pid, rfc3339(identity.started_at))


def _leader(record: LeaderRecord | None) -> LeaderView | None:
    if record is None:
        return None
    since = rfc3339(record.since)
    return LeaderView(record.process_id, record.host, record.pid, since, record.term)


def leadership_view(status: LeaderStatus) -> LeadershipView:
    return LeadershipView(
        election=status.election,
        this_process=_process(status.this_process),
        this_process_leads=status.leading,
        leader=_leader(status.leader),
    )


@requires("admin")
async def leader(request: Request) -> Response:
    system = administering(request)
    status = await system.run_sync(system.leadership.status)
    return json_response(_VIEW.dump_json(leadership_view(status)))


def leadership_routes() -> list[Route]:
    return [Route("/api/admin/leader", leader, methods=["GET"])]
