"""``/api/webhooks`` and ``/api/webhook-deliveries``: webhook subscriptions, their
delivery history and dead letters (notes/WEBHOOKS.md). Admins only: a receiver's URL
may hold a secret (a Slack webhook's does), so even its path is shown to no one."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from application.changes import webhook_changed
from application.contracts.requests import WebhookRequest
from application.contracts.responses import (
    WebhookDeliveryList,
    WebhookDeliveryView,
    WebhookList,
    WebhookView,
)
from application.mapper import rfc3339
from application.webhooks.ports import STATES, Delivery
from application.webhooks.subscriptions import Subscription
from domain.schedules import schedule_name
from infrastructure.http.handling import (
    INT64_MAX,
    actor,
    int_param,
    json_response,
    parse_body,
    reading,
)
from infrastructure.http.problems import RequestInvalid, problem

PAGE_SIZE, MAX_PAGE_SIZE = 50, 500


def _view(s: Subscription, counts: dict[str, int]) -> WebhookView:
    return WebhookView(
        id=s.id,
        target=s.target,
        events=list(s.events),
        format=s.format,
        batch=s.batch,
        description=s.description,
        created_by=s.created_by,
        pending=counts.get("pending", 0),
        delivered=counts.get("delivered", 0),
        dead=counts.get("dead", 0),
    )


def _time(seconds: float | None) -> str | None:
    return None if seconds is None else rfc3339(datetime.fromtimestamp(seconds, UTC))


def _delivery(d: Delivery) -> WebhookDeliveryView:
    return WebhookDeliveryView(
        id=d.id,
        subscription=d.subscription_id,
        event_id=d.event_id,
        event_type=d.event_type,
        state=d.state,
        attempts=d.attempts,
        created_at=_time(d.created_at) or "",
        last_attempt_at=_time(d.last_attempt_at),
        last_status=d.last_status,
        last_error=d.last_error,
        next_attempt_at=_time(d.next_attempt_at) if d.state == "pending" else None,
        delivered_at=_time(d.delivered_at),
    )


def _not_found(request: Request, name: str) -> Response:
    return problem(request, 404, f"no webhook named {name!r}", kind="webhook-not-found")


async def list_webhooks(request: Request) -> Response:
    system = reading(request)
    found = await system.run_sync(system.webhooks.subscriptions)
    counts = await system.run_sync(system.webhooks.counts)
    body = WebhookList(items=[_view(s, counts.get(s.id, {})) for s in found])
    return json_response(body.model_dump_json().encode())


async def get_webhook(request: Request) -> Response:
    name, system = schedule_name(str(request.path_params["name"])), reading(request)
    found = await system.run_sync(system.webhooks.subscription, name)
    if found is None:
        return _not_found(request, name)
    counts = await system.run_sync(system.webhooks.counts)
    return json_response(_view(found, counts.get(name, {})).model_dump_json().encode())


async def create_webhook(request: Request) -> Response:
    system = reading(request)
    body = await parse_body(request, WebhookRequest)
    subscription = Subscription(
        id=body.id,
        url=body.url,
        secret=body.secret.get_secret_value(),
        events=tuple(dict.fromkeys(body.events)),
        format=body.format,
        batch=body.batch,
        description=body.description,
        created_by=actor(request),
    )
    if not await system.run_sync(system.webhooks.add, subscription):
        return problem(request, 409, f"a webhook named {body.id!r} exists", kind="webhook-exists")
    view = _view(subscription, {})
    _announce(request, body.id, "created", view)
    return json_response(view.model_dump_json().encode(), 201)


async def delete_webhook(request: Request) -> Response:
    name, system = schedule_name(str(request.path_params["name"])), reading(request)
    if not await system.run_sync(system.webhooks.remove, name):
        return _not_found(request, name)
    _announce(request, name, "removed", None)
    return Response(status_code=204)


def _announce(request: Request, name: str, change: str, view: WebhookView | None) -> None:
    system = reading(request)
    at = rfc3339(system.clock.now()) or ""
    shown = None if view is None else view.model_dump(mode="json")
    system.hub.announce(webhook_changed(name, change, actor(request), at, shown))


async def list_deliveries(request: Request) -> Response:
    system = reading(request)
    state = request.query_params.get("state")
    if state is not None and state not in STATES:
        raise RequestInvalid.one("state", "must be pending, delivered or dead")
    subscription = request.query_params.get("webhook")
    limit = int_param(request, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    found = await system.run_sync(
        system.webhooks.deliveries,
        subscription,
        state,
        limit or PAGE_SIZE,
    )
    body = WebhookDeliveryList(items=[_delivery(d) for d in found])
    return json_response(body.model_dump_json().encode())


async def resend_delivery(request: Request) -> Response:
    system = reading(request)
    delivery = int(request.path_params["delivery"])
    now = system.clock.now().timestamp()
    if delivery > INT64_MAX or not await system.run_sync(system.webhooks.resend, delivery, now):
        return problem(
            request, 404, f"no dead letter numbered {delivery}", kind="dead-letter-not-found"
        )
    return Response(status_code=202)
