"""``/api/schedules``: the fleet's office-hours schedules (notes/SCHEDULES.md). Viewers
read them (with where each stands now); admins define, change and remove them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from application.changes import schedule_changed
from application.contracts.requests import ScheduleRequest
from application.contracts.responses import ScheduleList, ScheduleView
from application.mapper import rfc3339
from application.schedules import schedule_from, schedule_json
from domain.schedules import Schedule, schedule_name
from infrastructure.http.handling import actor, json_response, parse_body, reading
from infrastructure.http.problems import problem


def _name(request: Request) -> str:
    return schedule_name(str(request.path_params["name"]))


def _view(schedule: Schedule, request: Request) -> ScheduleView:
    now = reading(request).clock.now()
    return ScheduleView(
        **schedule_json(schedule),
        on_now=schedule.is_on(now),
        next_change=rfc3339(schedule.next_change(now)),
    )


def _not_found(request: Request, name: str) -> Response:
    return problem(request, 404, f"no schedule named {name!r}", kind="schedule-not-found")


async def list_schedules(request: Request) -> Response:
    system = reading(request)
    schedules = await system.run_sync(system.schedules.all)
    body = ScheduleList(items=[_view(s, request) for s in schedules])
    return json_response(body.model_dump_json().encode())


async def get_schedule(request: Request) -> Response:
    name, system = _name(request), reading(request)
    found = await system.run_sync(system.schedules.get, name)
    if found is None:
        return _not_found(request, name)
    return json_response(_view(found, request).model_dump_json().encode())


async def put_schedule(request: Request) -> Response:
    name, system = _name(request), reading(request)
    body = await parse_body(request, ScheduleRequest)
    schedule = schedule_from(name, body.model_dump())
    await system.run_sync(system.schedules.put, schedule, actor(request))
    view = _view(schedule, request)
    _announce(request, name, "saved", view)
    return json_response(view.model_dump_json().encode())


async def delete_schedule(request: Request) -> Response:
    name, system = _name(request), reading(request)
    if not await system.run_sync(system.schedules.remove, name):
        return _not_found(request, name)
    _announce(request, name, "removed", None)
    return Response(status_code=204)


def _announce(request: Request, name: str, change: str, view: ScheduleView | None) -> None:
    system = reading(request)
    at = rfc3339(system.clock.now()) or ""
    shown = None if view is None else view.model_dump(mode="json")
    system.hub.announce(schedule_changed(name, change, actor(request), at, shown))
