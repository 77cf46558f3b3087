"""Request bodies of the REST API (v1). The HTTP adapter turns each into a command."""

from __future__ import annotations

import datetime
import importlib.resources
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    SecretStr,
    StringConstraints,
)
from pydantic_core import CoreSchema

from application.budgets import MAX_AMOUNT, MIN_AMOUNT, SCOPE_PATTERN
from application.contracts.base import RequestContract
from application.webhooks.subscriptions import EVENT_TYPES, GROUPS
from domain.schedules import NAME_PATTERN
from domain.status import WorkerStatus
from domain.worker import MAX_IDLE_TIMEOUT_MINUTES

NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
"""No control characters (NUL, newlines, tabs, DEL...)."""
SPACES = r"\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
TEXT = rf"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f{SPACES}][^\x00-\x1f\x7f]*$"
"""No control characters, and something besides spaces. Patterns here mean the same to
Python's ``re``, JSON Schema's ECMA 262 and pydantic's Rust regex: explicit classes, no
``\\w`` or ``\\s`` (whose meanings differ), so the API document is exact."""


class WithJsonSchemaExtra:
    """Adds to a type's JSON Schema what a domain rule checks (so the document says it)."""

    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {**handler(core), **self.extra}


def _whole(value: object) -> object:
    """JSON Schema's integer: ``30.0`` is 30 (``"30"`` and ``true`` stay refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Kept as sent but for surrounding spaces, checked as sent (the document's rules).
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=TEXT), AfterValidator(str.strip)
]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=500, pattern=TEXT), AfterValidator(str.strip)
]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$", max_length=32)]
InstanceType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", max_length=32)]
AmiId = Annotated[str, StringConstraints(pattern=r"^ami-[0-9a-f]{8,17}$")]
InstanceId = Annotated[str, StringConstraints(pattern=r"^i-[0-9a-f]{8,17}$")]
LaunchTemplate = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9().\-/_]{3,128}$")]
EC2_TAG_CHARACTER = r"""[^\x00-\x1f\x7f-\x9f!"#$%&'()*,;<>?\[\\\]^`{|}~]"""
"""What EC2 allows in tag keys and values: letters, digits, spaces and + - = . _ : / @
(any other ASCII character and control characters are refused here; other letters
are passed to EC2)."""
PROTECTED_TAG = r"^(Name$|[Cc][Mm][Ll]-[Ff][Ll][Ee][Ee][Tt]:|[Aa][Ww][Ss]:)"
"""``domain.tags.is_protected`` as a pattern, for the document."""
TagKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=f"^{EC2_TAG_CHARACTER}+$"),
    WithJsonSchemaExtra({"not": {"pattern": PROTECTED_TAG}}),
]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=f"^{EC2_TAG_CHARACTER}*$")]
TimeoutMinutes = Annotated[int, Field(ge=1, le=MAX_IDLE_TIMEOUT_MINUTES), BeforeValidator(_whole)]

TAGS_DOC = "Tags to set (key to value); at most 50."
TIMEOUT_DOC = "This worker's own idle timeout in minutes; null uses the global default."


ONE_SOURCE: list[JsonValue] = [
    {"required": [field], "properties": {field: {"type": "string"}}}
    for field in ("ami_id", "launch_template")
]


class CreateWorkerRequest(RequestContract):
    """Request a new worker. An AMI id or a launch template is required."""

    model_config = ConfigDict(json_schema_extra={"anyOf": ONE_SOURCE})

    name: Name = Field(description="Human name of the worker.")
    region: Region = Field(description="AWS region, e.g. us-east-1.")
    instance_type: InstanceType = Field(description="EC2 instance type, e.g. c5.2xlarge.")
    ami_id: AmiId | None = Field(None, description="AMI to launch from.")
    launch_template: LaunchTemplate | None = Field(
        None, description="Launch template name or id to launch from."
    )
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=50, description=TAGS_DOC)
    idle_detection_enabled: bool = Field(True, description="Pause the worker when it is idle.")
    idle_timeout_minutes: TimeoutMinutes | None = Field(None, description=TIMEOUT_DOC)


class ImportWorkerRequest(RequestContract):
    """Take an existing EC2 instance under management. cml-fleet looks it up in its
    region: its type, AMI, Name tag, state and tags come from EC2. Given, ``instance_type``
    and ``ami_id`` must agree with EC2 (else 409); ``tags`` are added to EC2's."""

    instance_id: InstanceId = Field(description="EC2 instance id, e.g. i-0123456789abcdef0.")
    region: Region = Field(description="AWS region the instance is in.")
    name: Name | None = Field(None, description="Worker name; default: its Name tag, else its id.")
    instance_type: InstanceType | None = Field(
        None, description="EC2 instance type, if you want it checked; EC2's is recorded."
    )
    status: WorkerStatus = Field(
        WorkerStatus.UNKNOWN, description="Ignored (kept for old clients): EC2's state is recorded."
    )
    ami_id: AmiId | None = Field(
        None, description="AMI, if you want it checked; EC2's is recorded."
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Tags to add to the instance's own (written to EC2); at most 50.",
    )
    idle_detection_enabled: bool = Field(True, description="Pause the worker when it is idle.")
    idle_timeout_minutes: TimeoutMinutes | None = Field(None, description=TIMEOUT_DOC)


class ReleaseRequest(RequestContract):
    """Release a worker from management: cml-fleet stops watching and acting on it, its
    instance is left as it is, its history stays. Final (import the instance again to
    manage it)."""

    reason: Reason = Field(description="Why, for the worker's history (e.g. 'region closed').")


class IdleDetectionRequest(RequestContract):
    """Switch idle auto-pause on or off for one worker, and set its timeout."""

    enabled: bool = Field(description="Whether idle workers are paused automatically.")
    timeout_minutes: TimeoutMinutes | None = Field(None, description=TIMEOUT_DOC)


class LicenseRequest(RequestContract):
    """Register CML with a Smart Licensing token. The token is never stored or shown."""

    token: SecretStr = Field(
        min_length=1, max_length=4096, description="Smart Licensing registration token."
    )


class TeamRequest(RequestContract):
    """The worker's team (``null``: none); stored as its ``cml-fleet:team`` tag."""

    team: str | None = Field(
        min_length=1, max_length=64, pattern=TEXT,
        description="The team's name, as your identity provider's teams claim gives it.",
    )  # fmt: skip


class ScheduleOverrideRequest(RequestContract):
    """Keep a worker running until ``until`` whatever its schedule says (null: lift it)."""

    until: AwareDatetime | None = Field(
        description="RFC 3339 with its offset; in the future, at most 7 days ahead."
    )


class TagsPatchRequest(RequestContract):
    """Add or change some tags and remove others; tags not named are kept."""

    add: dict[TagKey, TagValue] = Field(
        default_factory=dict, max_length=50, description="Tags to add or change."
    )
    remove: list[TagKey] = Field(
        default_factory=list, max_length=50, description="Keys of tags to remove."
    )


TIME_ZONES = tuple(importlib.resources.files("tzdata").joinpath("zones").read_text().split())
"""Every IANA zone of the pinned ``tzdata`` release (the API document lists them)."""
DayMinutes = Annotated[int, Field(ge=0, le=1440), BeforeValidator(_whole)]
"""0 to 1440 minutes (``30.0`` is 30, as in JSON Schema)."""
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
DAYS_PATTERN = rf"^{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*$"
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_CLOCK = Field(pattern=CLOCK_PATTERN, description="Local time of day, HH:MM.")


class SchedulePeriodBody(RequestContract):
    """Weekly on-time: from ``start`` to ``end`` on each of ``days`` (the day it starts;
    an ``end`` not after ``start`` ends the next day)."""

    days: str = Field(pattern=DAYS_PATTERN, description="mon-fri, sat,sun, mon,wed-fri ...")
    start: str = _CLOCK
    end: str = _CLOCK


def _no_default(schema: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null: no ``default: null`` shown."""
    schema.pop("default", None)


class ScheduleExceptionBody(RequestContract):
    """On ``date``: closed (no ``start``/``end``: a holiday), or an extra on-time."""

    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"start": ["end"], "end": ["start"]}}
    )

    date: datetime.date = Field(description="Local date, YYYY-MM-DD.")
    # Left out, not null, when there is no extra on-time (a holiday).
    start: str = Field(None, pattern=CLOCK_PATTERN, description="Extra on-time's start.",
                       json_schema_extra=_no_default)  # type: ignore[assignment]  # fmt: skip
    end: str = Field(None, pattern=CLOCK_PATTERN, description="Extra on-time's end.",
                     json_schema_extra=_no_default)  # type: ignore[assignment]  # fmt: skip


class ScheduleRequest(RequestContract):
    """An office-hours schedule (``PUT /api/schedules/{name}``): when workers that follow
    it (tag ``cml-fleet:schedule=<name>``) are up, in its own time zone."""

    timezone: Literal[TIME_ZONES] = Field(  # type: ignore[valid-type]
        description="IANA time zone: Europe/Paris."
    )
    periods: list[SchedulePeriodBody] = Field(max_length=50, description="Weekly on-times.")
    exceptions: list[ScheduleExceptionBody] = Field(
        default_factory=list, max_length=400, description="Holidays and one-off sessions."
    )
    off: Literal["stop", "pause"] = Field("stop", description="What outside hours means.")
    lead_minutes: DayMinutes = Field(15, description="Start this early.")
    grace_minutes: DayMinutes = Field(
        30, description="After hours, wait this long for labs in use."
    )
    keep_alive_minutes: DayMinutes = Field(
        60, description="A worker started outside hours stays up this long."
    )


SELECTORS = tuple(sorted({*GROUPS, *EVENT_TYPES}))
PORT = r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
WEBHOOK_URL = rf"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?{PORT}(/[^\x00-\x20\x7f]*)?$"
"""An absolute http(s) URL with a host name or IPv4 address (no user or password)."""


class WebhookRequest(RequestContract):
    """A webhook subscription (``POST /api/webhooks``): the events it wants are sent to
    ``url`` as CloudEvents (or Slack messages), signed with ``secret``."""

    id: str = Field(pattern=NAME_PATTERN, description="Its name: 1-63 of a-z, 0-9 and -.")
    url: str = Field(max_length=2000, pattern=WEBHOOK_URL, description="Where to send.")
    secret: SecretStr = Field(
        min_length=16, max_length=200,
        description="Signs each request (HMAC-SHA256, Standard Webhooks); never shown again.",
    )  # fmt: skip
    events: list[Literal[SELECTORS]] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=50,
        description="Event types (worker.paused) or groups: auto-pause, schedule, "
        "operation-failed, license, unreachable, * (every event).",
    )  # fmt: skip
    format: Literal["cloudevents", "slack"] = Field(
        "cloudevents", description="CloudEvents JSON, or a Slack-compatible {text} message."
    )
    batch: bool = Field(
        False, description="Send pending events together (a CloudEvents batch; Slack: lines)."
    )
    description: str = Field("", max_length=200, pattern=NO_CONTROLS, description="A note.")


class BudgetRequest(RequestContract):
    """A monthly budget (``PUT /api/budgets/{name}``): what a scope may cost a month."""

    amount: float = Field(ge=MIN_AMOUNT, le=MAX_AMOUNT, description="Per calendar month (UTC).")
    scope: str = Field(
        "fleet", pattern=SCOPE_PATTERN, description="fleet, team:<team> or tag:<key>=<value>."
    )
    thresholds: list[Annotated[int, Field(ge=1, le=1000), BeforeValidator(_whole)]] = Field(
        default_factory=lambda: [50, 80, 100], min_length=1, max_length=10,
        description="Percentages of amount that alert (webhooks, group budget) once a month.",
    )  # fmt: skip
    enforce: bool = Field(
        False, description="At 100 %, pause the scope's running workers (not exempt ones)."
    )
