"""Who sees which workers (``VISIBILITY``; notes/SSO.md).

``all``: everyone sees every worker. ``team``: admins see every worker; viewers and
operators see, and act on, only the workers of their teams (a worker with no team is
an admin's alone). A worker out of sight answers exactly as one that does not exist
(404), so its existence is not revealed either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from application.errors import WorkerNotFound
from infrastructure.http.access.auth import Role
from infrastructure.http.handling import reading, worker_id
from infrastructure.read_model.teams import UNKNOWN

Endpoint = Callable[[Request], Awaitable[Response]]


def teams_seen(conn: HTTPConnection) -> frozenset[str] | None:
    """The teams whose workers the caller sees; ``None``: every worker."""
    if reading(conn).settings.visibility == "all":  # type: ignore[arg-type]
        return None
    who = getattr(conn.user, "who", None)
    if who is None or who.role is Role.ADMIN:
        return None
    return frozenset(who.teams)


def sees(teams: frozenset[str] | None, team: object) -> bool:
    """Whether a caller seeing ``teams`` sees a worker of ``team``."""
    return teams is None or (team is not UNKNOWN and team in teams)


async def team_of(request: Request, worker: str) -> object:
    index = reading(request).read_model.teams
    if index.loaded:
        return index.team_of(worker)
    return await reading(request).run_sync(index.team_of, worker)


def visible_only(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` for a worker the caller sees; 404 for any other."""

    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        teams = teams_seen(request)
        if teams is not None:
            worker = worker_id(request)
            if not sees(teams, await team_of(request, str(worker))):
                raise WorkerNotFound(worker)
        return await endpoint(request)

    return guarded
