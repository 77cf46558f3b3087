"""Command endpoints: parse the contract -> build the command -> run its handler.

202 when the cloud must act on it (the operations engine carries it out), 200 when
the change is complete once recorded.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from application.commands.admission import ImportRequest, admit, check_region, look_up
from application.commands.common import CommandResult
from application.commands.license import (
    RequestLicenseDeregistration,
    RequestLicenseRegistration,
    request_license_deregistration,
    request_license_registration,
)
from application.commands.lifecycle import (
    CreateWorker,
    PauseWorker,
    ReleaseWorker,
    ResumeWorker,
    StartWorker,
    StopWorker,
    TerminateWorker,
    create_worker,
    import_worker,
    pause_worker,
    release_worker,
    resume_worker,
    start_worker,
    stop_worker,
    terminate_worker,
)
from application.commands.settings import (
    AssignTeam,
    ChangeTags,
    ConfigureIdleDetection,
    OverrideSchedule,
    assign_team,
    change_tags,
    configure_idle_detection,
    override_schedule,
)
from application.contracts.requests import (
    CreateWorkerRequest,
    IdleDetectionRequest,
    ImportWorkerRequest,
    LicenseRequest,
    ReleaseRequest,
    ScheduleOverrideRequest,
    TagsPatchRequest,
    TeamRequest,
)
from infrastructure.http.handling import (
    acting,
    actor,
    correlation_id,
    parse_body,
    run_command,
    run_creation,
    worker_id,
)

ACCEPTED, DONE = 202, 200


def _who(request: Request) -> dict[str, Any]:
    return {"actor": actor(request), "correlation_id": correlation_id(request)}


async def create(request: Request) -> Response:
    body = await parse_body(request, CreateWorkerRequest)
    system, cmd = acting(request), CreateWorker(**body.model_dump(), **_who(request))

    async def execute() -> CommandResult:
        await check_region(system.cloud, cmd.region)
        return await system.run_sync(create_worker, cmd, system.store)

    return await run_creation(request, ACCEPTED, execute)


async def import_(request: Request) -> Response:
    body = await parse_body(request, ImportWorkerRequest)
    system = acting(request)
    wanted = ImportRequest(**body.model_dump(exclude={"status"}), **_who(request))

    async def execute() -> CommandResult:
        info = await look_up(system.cloud, wanted.region, wanted.instance_id)
        known = await system.run_sync(system.read_model.all_workers, True)
        return await system.run_sync(import_worker, admit(wanted, info, known), system.store)

    return await run_creation(request, DONE, execute)


async def start(request: Request) -> Response:
    cmd = StartWorker(worker_id(request), **_who(request))
    return await run_command(request, ACCEPTED, start_worker, cmd)


async def stop(request: Request) -> Response:
    cmd = StopWorker(worker_id(request), **_who(request))
    return await run_command(request, ACCEPTED, stop_worker, cmd)


async def pause(request: Request) -> Response:
    system, cmd = acting(request), PauseWorker(worker_id(request), **_who(request))
    return await run_command(request, ACCEPTED, pause_worker, cmd, system.clock)


async def resume(request: Request) -> Response:
    system, cmd = acting(request), ResumeWorker(worker_id(request), **_who(request))
    return await run_command(request, ACCEPTED, resume_worker, cmd, system.clock)


async def terminate(request: Request) -> Response:
    cmd = TerminateWorker(worker_id(request), **_who(request))
    return await run_command(request, ACCEPTED, terminate_worker, cmd)


async def release(request: Request) -> Response:
    body = await parse_body(request, ReleaseRequest)
    cmd = ReleaseWorker(worker_id(request), **_who(request), reason=body.reason)
    return await run_command(request, DONE, release_worker, cmd)


async def idle_detection(request: Request) -> Response:
    body = await parse_body(request, IdleDetectionRequest)
    cmd = ConfigureIdleDetection(
        worker_id(request),
        **_who(request),
        enabled=body.enabled,
        timeout_minutes=body.timeout_minutes,
    )
    return await run_command(request, DONE, configure_idle_detection, cmd)


async def register_license(request: Request) -> Response:
    body = await parse_body(request, LicenseRequest)
    cmd = RequestLicenseRegistration(
        worker_id(request), **_who(request), token=body.token.get_secret_value()
    )
    handler, system = request_license_registration, acting(request)
    # The token goes to the operations engine in memory only (never into the event).
    with system.license_tokens.holding(cmd.worker_id, cmd.correlation_id, cmd.token) as held:
        response = await run_command(request, ACCEPTED, handler, cmd)
        held.keep_if(response.status_code == ACCEPTED)
    return response


async def deregister_license(request: Request) -> Response:
    cmd = RequestLicenseDeregistration(worker_id(request), **_who(request))
    handler = request_license_deregistration
    return await run_command(request, ACCEPTED, handler, cmd)


async def team(request: Request) -> Response:
    body = await parse_body(request, TeamRequest)
    cmd = AssignTeam(worker_id(request), **_who(request), team=body.team)
    return await run_command(request, DONE, assign_team, cmd)


async def schedule_override(request: Request) -> Response:
    body = await parse_body(request, ScheduleOverrideRequest)
    system = acting(request)
    cmd = OverrideSchedule(worker_id(request), **_who(request), until=body.until)
    return await run_command(request, DONE, override_schedule, cmd, system.clock)


async def tags(request: Request) -> Response:
    body = await parse_body(request, TagsPatchRequest)
    cmd = ChangeTags(worker_id(request), **_who(request), add=body.add, remove=tuple(body.remove))
    return await run_command(request, DONE, change_tags, cmd)
