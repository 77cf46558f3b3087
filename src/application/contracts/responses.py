"""Response bodies of the REST API (v1), besides the worker view."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ConfigDict, Field

from application.contracts.base import ResponseContract
from application.contracts.operations import FleetCostView
from application.contracts.worker_view import WorkerView


class CommandAccepted(ResponseContract):
    """A command was recorded. Query with ``?min_position=position`` to read your write."""

    worker_id: UUID = Field(description="The worker the command acted on (or created).")
    position: int = Field(description="Event-log position of the command's last event.")
    correlation_id: str = Field(description="Correlation id stored on the command's events.")


class WorkerPageResponse(ResponseContract):
    """One page of workers; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[WorkerView] = Field(description="The workers of this page, in sort order.")
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")
    total: int = Field(description="Workers matching the filters, over all pages.")
    position: int = Field(description="Event-log position the page reflects.")


class FleetSummaryResponse(ResponseContract):
    """Counts of workers by status."""

    total: int = Field(description="All workers, terminated ones included.")
    by_status: dict[str, int] = Field(description="Number of workers in each status.")
    position: int = Field(description="Event-log position the counts reflect.")
    cost: FleetCostView | None = Field(
        None, description="Running hours and hours saved by auto-pause, with their money."
    )


class HistoryEntry(ResponseContract):
    """One stored event of a worker, as its public notification."""

    type: str = Field(description="Notification type, e.g. worker.paused.")
    worker_id: str = Field(description="Worker id (UUID).")
    version: int = Field(description="Aggregate version after the event.")
    at: str = Field(description="When the event was recorded, RFC 3339 UTC.")
    actor: str = Field(description="Who did it (user name, job or system).")
    correlation_id: str = Field(description="Correlation id of the request or job that did it.")
    payload: dict[str, Any] = Field(description="What changed (the notification's payload).")


class WorkerHistoryPage(ResponseContract):
    """A worker's history, newest first; pass ``next_before_version`` as ``before_version``."""

    items: list[HistoryEntry] = Field(description="Events of this page, newest first.")
    next_before_version: int | None = Field(
        description="Version to page from for older events; null on the last page."
    )


class FieldError(ResponseContract):
    """One invalid field of a request."""

    field: str = Field(description="Dotted path of the field, e.g. tags.owner; 'body' for all.")
    message: str = Field(description="What is wrong with it.")


class ProblemDetails(ResponseContract):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = Field(description="URI identifying the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What went wrong this time, for a person.")
    instance: str = Field(description="The request path the problem occurred at.")
    correlation_id: str | None = Field(None, description="Correlation id of the request.")
    errors: list[FieldError] | None = Field(None, description="Invalid fields (422 only).")
    current_status: str | None = Field(
        None, description="The worker's current status, when a transition was refused (409)."
    )


class HealthProblem(ResponseContract):
    """One thing that keeps failing in the process."""

    check: str = Field(description="What: job:<id>, region:<name> or operations.")
    detail: str = Field(description="How it fails, and for how long.")


class HealthStatus(ResponseContract):
    """Liveness or readiness of the server."""

    status: str = Field(
        description="'ok' (alive), 'ready', 'degraded' (ready, but something keeps failing: "
        "see problems), 'starting' or 'behind'."
    )
    position: int | None = Field(None, description="Position the read model has applied.")
    log_position: int | None = Field(None, description="Last position in the event log.")
    problems: tuple[HealthProblem, ...] = Field(
        (), description="What keeps failing (degraded); empty when all is well."
    )


class LabView(ResponseContract):
    """One lab on a worker's CML, as the metrics job last saw it."""

    worker_id: str = Field(description="The worker (UUID).")
    worker_name: str | None = Field(description="The worker's name.")
    lab_id: str = Field(description="CML lab id.")
    title: str = Field(description="Lab title.")
    owner_id: str | None = Field(description="CML user id of the owner.")
    owner_username: str | None = Field(description="CML user name of the owner.")
    state: str = Field(description="DEFINED_ON_CORE, STOPPED or STARTED.")
    node_count: int = Field(description="Nodes in the lab.")
    running_nodes: int | None = Field(description="Nodes running (booted or started).")
    link_count: int | None = Field(description="Links in the lab.")
    created: str | None = Field(description="When the lab was made, RFC 3339 UTC.")
    modified: str | None = Field(description="When the lab last changed, RFC 3339 UTC.")
    seen_at: str = Field(description="When cml-fleet last saw it so, RFC 3339 UTC.")
    cml_url: str | None = Field(description="The lab in the worker's CML UI (null: no address).")


class WorkerLabsResponse(ResponseContract):
    """A worker's labs, by title."""

    worker_id: str = Field(description="The worker (UUID).")
    items: list[LabView] = Field(description="The labs; empty while the worker is not running.")


class LabPageResponse(ResponseContract):
    """One page of the fleet's labs (by worker, then lab id); pass ``next_cursor`` as
    ``cursor`` for the next."""

    items: list[LabView] = Field(description="The labs of this page.")
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")


class ScheduleView(ResponseContract):
    """A schedule as stored, and where it stands now."""

    name: str = Field(description="Its name (workers follow it by the cml-fleet:schedule tag).")
    timezone: str = Field(description="IANA time zone its times are in.")
    periods: list[dict[str, str]] = Field(description="Weekly on-times: days, start, end.")
    exceptions: list[dict[str, str]] = Field(description="date, and start/end for a session.")
    off: str = Field(description="stop or pause.")
    lead_minutes: int = Field(description="Workers are started this long before hours.")
    grace_minutes: int = Field(description="After hours, how long labs in use are waited on.")
    keep_alive_minutes: int = Field(description="Started outside hours, a worker stays up this.")
    on_now: bool = Field(description="Whether it is within hours now.")
    next_change: str | None = Field(description="When that next changes (RFC 3339), if ever.")


class ScheduleList(ResponseContract):
    items: list[ScheduleView] = Field(description="Every schedule, by name.")


class WebhookView(ResponseContract):
    """A webhook subscription, without its secret, and how its deliveries stand."""

    id: str = Field(description="Its name.")
    target: str = Field(description="Where it sends: scheme and host (the path is not shown).")
    events: list[str] = Field(description="The event types and groups it wants.")
    format: str = Field(description="cloudevents or slack.")
    batch: bool = Field(description="Whether pending events go together.")
    description: str = Field(description="A note.")
    created_by: str = Field(description="Who made it.")
    pending: int = Field(description="Deliveries waiting to be sent or tried again.")
    delivered: int = Field(description="Deliveries done (kept for the retention time).")
    dead: int = Field(description="Deliveries given up on (dead letters; can be sent again).")


class WebhookList(ResponseContract):
    items: list[WebhookView] = Field(description="Every subscription, by id.")


class WebhookDeliveryView(ResponseContract):
    """One event's delivery to one subscription."""

    id: int = Field(description="The delivery's number (for a resend).")
    subscription: str = Field(description="The subscription's id.")
    event_id: str = Field(description="The CloudEvent id (webhook-id): worker id:version.")
    event_type: str = Field(description="The event's type, e.g. worker.paused.")
    state: str = Field(description="pending, delivered or dead.")
    attempts: int = Field(description="Requests made so far.")
    created_at: str = Field(description="When it was queued (RFC 3339).")
    last_attempt_at: str | None = Field(description="When it was last tried.")
    last_status: int | None = Field(description="The receiver's last HTTP status, if any.")
    last_error: str | None = Field(description="Why the last try failed.")
    next_attempt_at: str | None = Field(description="When it is tried next (pending only).")
    delivered_at: str | None = Field(description="When the receiver took it.")


class WebhookDeliveryList(ResponseContract):
    items: list[WebhookDeliveryView] = Field(description="Newest first.")


class BudgetView(ResponseContract):
    """A budget and how this month stands."""

    name: str = Field(description="Its name.")
    amount: float = Field(description="What its scope may cost a month.")
    scope: str = Field(description="fleet, team:<team> or tag:<key>=<value>.")
    thresholds: list[int] = Field(description="Percentages that alert.")
    enforce: bool = Field(description="Whether it pauses workers at 100 %.")
    currency: str = Field(description="Currency of every amount.")
    month: str = Field(description="The month (UTC), YYYY-MM.")
    spend: float = Field(description="What the scope's workers cost this month so far.")
    forecast: float = Field(description="The month's spend if it goes on as it has.")
    percent: float = Field(description="spend / amount, in percent.")
    alerted: list[int] = Field(description="Thresholds alerted this month.")
    lifted_by: str | None = Field(description="Who lifted enforcement this month, if anyone.")
    workers: int = Field(description="Workers in its scope now.")


class BudgetList(ResponseContract):
    items: list[BudgetView] = Field(description="Every budget, by name.")


class DailyCost(ResponseContract):
    day: str = Field(description="YYYY-MM-DD (UTC).")
    cost: float = Field(description="What running workers cost that day.")


class DailyCosts(ResponseContract):
    """The fleet's running cost per day this month (the workers you see)."""

    currency: str = Field(description="Currency of every amount.")
    month: str = Field(description="YYYY-MM (UTC).")
    days: list[DailyCost] = Field(description="Each day of the month so far.")
    total: float = Field(description="The month so far.")
