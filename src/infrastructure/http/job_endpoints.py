"""Admin job endpoints and the worker utilization history.

- ``GET  /api/admin/jobs``            (admin) jobs with last/next run, duration, error
- ``POST /api/admin/jobs/{id}/run``   (admin) run now: 202 at once, or 200 after the run
                                      with ``?wait=true``; 404 unknown job, 409 running
- ``GET  /api/workers/{id}/metrics``  (viewer) raw samples, ``?since=RFC3339&limit=N``
- ``GET  /api/admin/leader``          (admin) which process runs the jobs (leadership.api)

With several processes only the leader runs jobs: "run now" sent to another process is
refused with 409 ``not-leader`` naming the leader, so a job never runs twice at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import TypeAdapter
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application.mapper import rfc3339
from application.queries import GetWorker
from infrastructure.http.handling import (
    administering,
    bool_param,
    int_param,
    json_response,
    worker_id,
)
from infrastructure.http.leader_endpoints import leadership_routes
from infrastructure.http.problems import RequestInvalid, problem
from infrastructure.http.visibility import visible_only
from infrastructure.running.scheduler import JobAlreadyRunning, JobInfo, UnknownJob

MAX_SAMPLES = 10_000


@dataclass(frozen=True)
class JobView:
    """A scheduled job."""

    id: str
    name: str
    interval_seconds: float
    scheduled: bool
    running: bool
    runs: int
    failures: int
    skipped: int
    last_run_at: str | None
    last_duration_seconds: float | None
    last_error: str | None
    next_run_at: str | None
    last_result: dict[str, Any] | None


@dataclass(frozen=True)
class JobList:
    jobs: tuple[JobView, ...]


@dataclass(frozen=True)
class SampleView:
    at: str
    cpu_percent: float | None
    memory_percent: float | None
    disk_percent: float | None


@dataclass(frozen=True)
class WorkerMetrics:
    worker_id: str
    samples: tuple[SampleView, ...]


_JOB = TypeAdapter(JobView)
_JOBS = TypeAdapter(JobList)
_METRICS = TypeAdapter(WorkerMetrics)


def _summary(result: object) -> dict[str, Any] | None:
    """A job result's scalar fields (counts, times), never long lists."""
    if not is_dataclass(result) or isinstance(result, type):
        return None
    values = {f.name: getattr(result, f.name) for f in fields(result)}
    return {
        name: rfc3339(value) if isinstance(value, datetime) else value
        for name, value in values.items()
        if isinstance(value, int | float | str | bool | datetime)
    }


def job_view(info: JobInfo) -> JobView:
    """The job as the API shows it: its fields, times in RFC 3339, the last result's
    scalars."""
    shown = {f.name: getattr(info, f.name) for f in fields(JobView)}
    shown.update(
        last_run_at=rfc3339(info.last_run_at),
        next_run_at=rfc3339(info.next_run_at),
        last_result=_summary(info.last_result),
    )
    return JobView(**shown)


@requires("admin")
async def list_jobs(request: Request) -> Response:
    jobs = administering(request).scheduler.jobs()
    return json_response(_JOBS.dump_json(JobList(tuple(job_view(j) for j in jobs))))


@requires("admin")
async def run_job(request: Request) -> Response:
    scheduler = administering(request).scheduler
    job_id = request.path_params["id"]
    wait = bool_param(request, "wait")
    leadership = administering(request).leadership
    if leadership is not None and not leadership.can_run_leader_work:
        return await _not_leader(request, job_id)
    try:
        info = await scheduler.run_now(job_id) if wait else scheduler.trigger(job_id)
    except UnknownJob as error:
        return problem(request, 404, str(error), kind="job-not-found", job_id=job_id)
    except JobAlreadyRunning as error:
        return problem(request, 409, str(error), kind="job-running", job_id=job_id)
    return json_response(_JOB.dump_json(job_view(info)), 200 if wait else 202)


async def _not_leader(request: Request, job_id: str) -> Response:
    system = administering(request)
    status = await system.run_sync(system.leadership.status)
    leader = status.leader
    return problem(
        request,
        409,
        "jobs run in the leading process only; send this request to the leader",
        kind="not-leader",
        job_id=job_id,
        leader_process=None if leader is None else leader.process_id,
        leader_host=None if leader is None else leader.host,
    )


_RFC3339 = re.compile(  # ASCII digits only (``\d`` would take any script's)
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _since(request: Request) -> datetime | None:
    """``?since=``: an RFC 3339 date-time (a leap second counts as :59)."""
    raw = request.query_params.get("since")
    if raw is None:
        return None
    found = _RFC3339.match(raw)
    if found is None:
        raise RequestInvalid.one(
            "since", "must be an RFC 3339 date-time, e.g. 2026-01-31T08:00:00Z"
        )
    *fields, fraction, zone = found.groups()
    year, month, day, hour, minute, second = map(int, fields)
    micros = int((fraction or ".0")[1:7].ljust(6, "0"))
    offset = 0 if zone in "Zz" else int(zone[:3]) * 60 + int(zone[0] + zone[4:])
    try:
        return datetime(
            year, month, day, hour, minute, min(second, 59), micros,
            tzinfo=timezone(timedelta(minutes=offset)),
        )  # fmt: skip
    except ValueError as error:
        raise RequestInvalid.one("since", f"not a date-time: {error}") from None


def _limit(request: Request) -> int:
    limit = int_param(request, "limit", MAX_SAMPLES, 1, MAX_SAMPLES)
    assert limit is not None
    return limit


@requires("viewer")
@visible_only
async def worker_metrics(request: Request) -> Response:
    """The latest ``limit`` samples at or after ``since``, oldest first."""
    wid, since, limit = worker_id(request), _since(request), _limit(request)
    system = administering(request)
    await system.run_sync(system.read_model.get_worker, GetWorker(wid))  # 404 if unknown
    samples = await system.run_sync(system.metrics_history.samples, str(wid), since, limit)
    views = tuple(
        SampleView(rfc3339(s.at) or "", s.cpu_percent, s.memory_percent, s.disk_percent)
        for s in samples
    )
    return json_response(_METRICS.dump_json(WorkerMetrics(str(wid), views)))


def job_routes() -> list[Route]:
    """Routes for the job admin endpoints and worker metrics history."""
    return [
        Route("/api/admin/jobs", list_jobs, methods=["GET"]),
        Route("/api/admin/jobs/{id}/run", run_job, methods=["POST"]),
        Route("/api/workers/{id:uuid}/metrics", worker_metrics, methods=["GET"]),
        *leadership_routes(),
    ]
