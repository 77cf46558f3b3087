"""Query endpoints: answered from the read model (the history from the event log).

Every query takes ``?min_position=P`` to read its own writes. Workers are answered with
the JSON the projection stored (the mapper's DTO, serialized once); the rest is
serialized by pydantic straight from the dataclasses, in the shape of the contracts.
"""

from __future__ import annotations

import json
import re

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from application.costs import FleetCost
from application.history import GetWorkerHistory, HistoryPage, get_worker_history
from application.queries import (
    SORTABLE_FIELDS,
    Cursor,
    FleetSummary,
    GetWorker,
    ListWorkers,
    WorkerReadModel,
    fleet_report,
)
from domain.status import WorkerStatus
from infrastructure.http.handling import (
    bool_param,
    int_param,
    json_response,
    reading,
    wait_for_min_position,
    worker_id,
)
from infrastructure.http.problems import RequestInvalid
from infrastructure.http.visibility import teams_seen

_SUMMARY = TypeAdapter(FleetSummary)
_COST = TypeAdapter(FleetCost)
_HISTORY = TypeAdapter(HistoryPage)


def queries_of(request: Request) -> WorkerReadModel:
    """The read model, as the query port (``application.queries.WorkerReadModel``)."""
    return reading(request).read_model


PAGE_SIZE, MAX_PAGE_SIZE = 50, 500


def page_limit(request: Request) -> int:
    """``?limit=``: the one rule for every paginated endpoint (1 to 500, default 50)."""
    limit = int_param(request, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    assert limit is not None
    return limit


async def get_worker(request: Request) -> Response:
    query = GetWorker(worker_id(request))
    await wait_for_min_position(request)
    system, model = reading(request), queries_of(request)
    # A row held in memory is answered here, without a hop to a thread.
    text = model.hot_worker_json(query)
    if text is None:
        text = await system.run_sync(model.get_worker_json, query)
    return json_response(text.encode())


STATUSES = "|".join(s.value for s in WorkerStatus)
STATUS_PATTERN = f"^({STATUSES})(,({STATUSES}))*$"
SORT_VALUES = tuple(p + f for f in SORTABLE_FIELDS for p in ("", "-"))
_STATUS = re.compile(STATUS_PATTERN)


def list_query(request: Request) -> ListWorkers:
    """``?status=running&status=stopped&region=&q=&sort=-name&limit=&cursor=``.

    ``status`` repeats or takes a comma list; a ``-`` before ``sort`` sorts descending.
    A ``cursor`` carries the sort of the listing it continues, which it keeps.
    """
    params = request.query_params
    statuses = []
    for raw in params.getlist("status"):
        if not _STATUS.match(raw):
            raise RequestInvalid.one(
                "status", f"not a worker status or a comma list of them: {raw[:40]!r}"
            )
        statuses.extend(raw.split(","))
    sort = params.get("sort", "name")
    if sort not in SORT_VALUES:
        raise RequestInvalid.one("sort", f"must be one of {', '.join(SORT_VALUES)}")
    cursor = params.get("cursor")
    if cursor is not None:
        found = Cursor.decoded(cursor)
        if found is None:
            raise RequestInvalid.one("cursor", "not a cursor returned by a previous page")
        sort = ("-" if found.descending else "") + found.sort
    return ListWorkers(
        statuses=tuple(statuses),
        region=params.get("region") or None,
        text=params.get("q") or None,
        sort=sort.removeprefix("-"),
        descending=sort.startswith("-"),
        limit=page_limit(request),
        cursor=cursor,
        teams=teams_seen(request),
    )


async def list_workers(request: Request) -> Response:
    query = list_query(request)
    await wait_for_min_position(request)
    system = reading(request)
    text = await system.run_sync(queries_of(request).list_workers_json, query)
    return json_response(text.encode())


async def fleet_summary(request: Request) -> Response:
    """Counts by status, plus running hours and hours saved by auto-pause with their
    money (``?per_worker=true``: each worker's too)."""
    await wait_for_min_position(request)
    system = reading(request)
    per_worker = bool_param(request, "per_worker")
    now = system.clock.now()
    model = queries_of(request)
    teams = teams_seen(request)
    report = await system.run_sync(
        fleet_report, model, system.configs.prices, now, per_worker, teams
    )
    body = _SUMMARY.dump_python(report.summary, mode="json")
    body["cost"] = _COST.dump_python(report.cost)
    return json_response(json.dumps(body).encode())


async def worker_history(request: Request) -> Response:
    """The worker's events, newest first, straight from the event log (no wait needed)."""
    before = int_param(request, "before_version", None, 1)
    query = GetWorkerHistory(worker_id(request), limit=page_limit(request), before_version=before)
    system = reading(request)
    page = await system.run_sync(get_worker_history, query, system.store)
    return json_response(_HISTORY.dump_json(page))
