"""The lab endpoints: a worker's labs and the fleet's (read side), a lab's topology
(from the worker's CML), and the lab commands (recorded, then carried out by the
operations engine: 202)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from application.commands.labs import RequestLabOperation, request_lab_operation
from application.contracts.responses import LabPageResponse, LabView, WorkerLabsResponse
from application.dto import CMLWorkerDto
from application.jobs.observe import host_of
from application.labs import CURSOR_PATTERN, LAB_STATES, LabRow, ListLabs
from application.mapper import rfc3339
from application.operations.labs import topology_key
from application.ports_errors import CmlError, CmlUnreachable
from application.queries import GetWorker
from domain.labs import IMPORT, LabImport, LabOperation, NotReadyForLabs
from domain.status import ServiceStatus, WorkerStatus
from infrastructure.http.handling import (
    acting,
    actor,
    correlation_id,
    int_param,
    json_response,
    outside,
    reading,
    run_command,
    worker_id,
)
from infrastructure.http.labs.topology import TopologyRejected, parse_topology
from infrastructure.http.problems import RequestInvalid, UnsupportedMediaType, problem
from infrastructure.http.visibility import teams_seen

ACCEPTED = 202
PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
TOPOLOGY_TTL = timedelta(minutes=15)
_CURSOR = re.compile(CURSOR_PATTERN)


def _view(row: LabRow, worker: CMLWorkerDto | None) -> LabView:
    lab = row.lab
    host = host_of(worker.public_dns, worker.public_ip, None) if worker is not None else None
    return LabView(
        worker_id=row.worker_id,
        worker_name=worker.name if worker is not None else None,
        lab_id=lab.id,
        title=lab.title,
        owner_id=lab.owner_id,
        owner_username=lab.owner_username,
        state=lab.state,
        node_count=lab.node_count,
        running_nodes=lab.running_nodes,
        link_count=lab.link_count,
        created=rfc3339(lab.created),
        modified=rfc3339(lab.modified),
        seen_at=rfc3339(row.seen_at) or "",
        cml_url=f"https://{host}/lab/{lab.id}" if host else None,
    )


async def _worker(request: Request, wid: UUID) -> CMLWorkerDto:
    system = reading(request)
    dto: CMLWorkerDto = await system.run_sync(system.read_model.get_worker, GetWorker(wid))
    return dto


async def worker_labs(request: Request) -> Response:
    wid = worker_id(request)
    worker = await _worker(request, wid)  # 404 for a worker never seen
    system = reading(request)
    rows = await system.run_sync(system.labs.labs_of, str(wid))
    body = WorkerLabsResponse(worker_id=str(wid), items=[_view(r, worker) for r in rows])
    return json_response(body.model_dump_json().encode())


def _list_query(request: Request) -> ListLabs:
    params = request.query_params
    worker = params.get("worker")
    if worker is not None:
        try:
            worker = str(UUID(worker))
        except ValueError:
            raise RequestInvalid.one("worker", "must be a worker id (UUID)") from None
    state = params.get("state")
    if state is not None and state not in LAB_STATES:
        raise RequestInvalid.one("state", f"must be one of {', '.join(LAB_STATES)}")
    cursor = params.get("cursor")
    if cursor is not None and not _CURSOR.match(cursor):
        raise RequestInvalid.one("cursor", "must be the next_cursor of a previous page")
    limit = int_param(request, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    assert limit is not None
    owner = params.get("owner") or None
    return ListLabs(worker_id=worker, owner=owner, state=state, limit=limit, cursor=cursor)


async def fleet_labs(request: Request) -> Response:
    query = _list_query(request)
    system = reading(request)
    teams = teams_seen(request)
    if teams is not None:  # only the labs of workers the caller sees
        members = await system.run_sync(system.read_model.teams.members, teams)
        query = replace(query, among=tuple(sorted(members)))
    page = await system.run_sync(system.labs.page, query)
    ids = sorted({row.worker_id for row in page.items})
    dtos, _ = await system.run_sync(system.read_model.snapshot, ids) if ids else ((), 0)
    workers = {dto.id: dto for dto in dtos}
    body = LabPageResponse(
        items=[_view(row, workers.get(row.worker_id)) for row in page.items],
        next_cursor=page.next_cursor,
    )
    return json_response(body.model_dump_json().encode())


def _lab_id(request: Request) -> str:
    """The ``{lab_id}`` (the route matched a UUID), as CML writes it."""
    return str(request.path_params["lab_id"])


async def _command(
    request: Request, operation: LabOperation, import_of: LabImport | None = None
) -> Response:
    who = (worker_id(request), actor(request), correlation_id(request))
    cmd = RequestLabOperation(*who, operation, import_of)
    return await run_command(request, ACCEPTED, request_lab_operation, cmd)


async def start(request: Request) -> Response:
    return await _command(request, LabOperation("start", _lab_id(request)))


async def stop(request: Request) -> Response:
    return await _command(request, LabOperation("stop", _lab_id(request)))


async def wipe(request: Request) -> Response:
    return await _command(request, LabOperation("wipe", _lab_id(request)))


async def delete(request: Request) -> Response:
    return await _command(request, LabOperation("delete", _lab_id(request)))


async def import_(request: Request) -> Response:
    """A topology in CML's YAML: read and checked here (size, YAML, the spec's schema),
    kept beside the log for the engine (``LabStore.keep_topology``), the request recorded."""
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in YAML_TYPES:
        raise UnsupportedMediaType("send the lab's YAML: Content-Type: application/yaml")
    system = acting(request)
    raw = await request.body()
    try:
        topology = parse_topology(raw, system.settings.lab_import_max_bytes)
    except TopologyRejected as rejected:
        raise RequestInvalid.one("body", str(rejected)) from None
    title = request.query_params.get("title")
    digest = "sha256:" + hashlib.sha256(json.dumps(topology, sort_keys=True).encode()).hexdigest()
    import_of = LabImport(len(raw), digest, title)  # checks the title (422)
    wid, cid = worker_id(request), correlation_id(request)
    expires = system.clock.now() + TOPOLOGY_TTL
    key = topology_key(wid, cid, digest)
    await system.run_sync(system.labs.keep_topology, key, topology, expires)
    response = await _command(request, LabOperation(IMPORT, None), import_of=import_of)
    if response.status_code != ACCEPTED or "Idempotent-Replayed" in response.headers:
        # Refused, or answered as before: nothing will take this copy.
        await system.run_sync(system.labs.take_topology, key, system.clock.now())
    return response


async def download(request: Request) -> Response:
    """The lab's YAML, from the worker's CML (viewers may read it)."""
    wid, lab = worker_id(request), _lab_id(request)
    LabOperation("stop", lab)  # the id's form (422)
    worker = await _worker(request, wid)
    host = host_of(worker.public_dns, worker.public_ip, worker.private_ip)
    ready = (WorkerStatus.RUNNING.value, ServiceStatus.READY.value)
    if (worker.status, worker.service_status) != ready or host is None:
        raise NotReadyForLabs(worker.status, worker.service_status)
    try:
        text = await outside(request).cml.download_lab(host, lab)
    except CmlUnreachable:
        return problem(request, 502, "the worker's CML did not answer", kind="cml-unreachable")
    except CmlError as error:
        if error.status == 404:
            return problem(request, 404, f"no lab {lab} on this worker", kind="lab-not-found")
        return problem(request, 502, f"the worker's CML refused: {error.reason}", kind="cml-error")
    filename = f"lab-{lab}.yaml"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text.encode(), media_type="application/yaml", headers=headers)
