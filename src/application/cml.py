"""The CML port: what cml-fleet needs from the CML REST API (v0) of one worker.

Implemented by the simulated CML (the embedded default) and by the httpx adapter.
Answers are small frozen values; the ``parse_*`` functions read the JSON bodies the
API returns (schemas ``SystemInformation``, ``SystemHealth``, ``SystemStats``,
``LicensingStatus``, ``LabResponse``, ``TelemetryEventResponse`` of the 2.9 spec), so
every adapter reads them the same way. Errors: ``CmlUnreachable`` (no answer) and
``CmlError`` (an error answer) from :mod:`application.ports_errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

from domain.status import LicenseStatus


@dataclass(frozen=True)
class CmlSystemInfo:
    """``GET /system_information`` (no authentication needed)."""

    version: str
    ready: bool


@dataclass(frozen=True)
class CmlHealth:
    """``GET /system_health``."""

    valid: bool | None
    is_licensed: bool | None
    is_enterprise: bool
    controller_valid: bool
    computes: int
    computes_valid: bool


@dataclass(frozen=True)
class CmlStats:
    """``GET /system_stats``, reduced to percentages and node counts."""

    cpu_percent: float | None
    memory_percent: float | None
    disk_percent: float | None
    running_nodes: int | None
    total_nodes: int | None
    invalid: tuple[str, ...] = ()
    """Fields CML answered with impossible values (negative counts, more used than
    there is, a percentage over 100): those read as ``None``, never bent into range."""


@dataclass(frozen=True)
class CmlLicensing:
    """``GET /licensing``: registration and authorization status strings as CML says."""

    registration_status: str | None
    authorization_status: str | None
    product_license: str | None = None
    registration_expires: datetime | None = None
    authorization_expires: datetime | None = None
    failure: str | None = None


@dataclass(frozen=True)
class CmlNotice:
    """A system notice (``SystemNotice``): shown to the worker's users while enabled."""

    id: str
    level: str
    label: str
    content: str
    enabled: bool


def parse_notice(body: Mapping[str, Any]) -> CmlNotice:
    return CmlNotice(
        id=str(body["id"]),
        level=str(body["level"]),
        label=str(body["label"]),
        content=str(body.get("content") or ""),
        enabled=bool(body["enabled"]),
    )


@dataclass(frozen=True)
class CmlLab:
    """One lab (``LabResponse``) with the number of its nodes that are running."""

    id: str
    title: str
    state: str
    node_count: int
    running_nodes: int | None = None
    owner_username: str | None = None
    modified: datetime | None = None
    invalid: tuple[str, ...] = ()
    """Fields CML answered with impossible values (see :class:`CmlStats`)."""
    owner_id: str | None = None
    link_count: int | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class CmlTelemetryEvent:
    """One ``TelemetryEventResponse``: ``category`` (``start_lab``, ``user_activity``, ...)."""

    category: str
    timestamp: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


class LabAction(Enum):
    """What an operator can do to a lab, as CML's API names it (``PUT /labs/{id}/<action>``,
    ``DELETE /labs/{id}``)."""

    START = "start"
    STOP = "stop"
    WIPE = "wipe"
    DELETE = "delete"

    @property
    def call(self) -> tuple[str, str]:
        """The spec's operation: method and path template."""
        if self is LabAction.DELETE:
            return "DELETE", "/labs/{lab_id}"
        return "PUT", f"/labs/{{lab_id}}/{self.value}"


class CmlPort(Protocol):
    """The CML REST API of the worker at ``host`` (IP address or DNS name).

    Adapters authenticate as needed (token cached per host); credentials never
    appear in arguments, answers or errors.
    """

    async def system_information(self, host: str) -> CmlSystemInfo: ...

    async def system_health(self, host: str) -> CmlHealth: ...

    async def system_stats(self, host: str) -> CmlStats: ...

    async def licensing(self, host: str) -> CmlLicensing: ...

    async def labs(self, host: str) -> tuple[CmlLab, ...]:
        """Every lab on the worker (all users'), with state and running node counts."""
        ...

    async def lab_ids(self, host: str) -> tuple[str, ...]:
        """The ids of every lab on the worker (all users'): one cheap call."""
        ...

    async def lab(self, host: str, lab_id: str) -> CmlLab | None:
        """One lab with its running node count; ``None`` if there is no such lab."""
        ...

    async def download_lab(self, host: str, lab_id: str) -> str:
        """The lab's topology as CML's YAML; an unknown lab raises ``CmlError`` (404)."""
        ...

    async def import_lab(self, host: str, topology: Mapping[str, Any], title: str | None) -> str:
        """Create a lab from a topology (the spec's ``Topology``, already validated);
        ``title`` replaces the topology's own. Returns the new lab's id; a topology CML
        refuses raises ``CmlError`` (400)."""
        ...

    async def telemetry_events(self, host: str) -> tuple[CmlTelemetryEvent, ...]:
        """The whole telemetry history, oldest first (the API takes no filter)."""
        ...

    async def register_license(self, host: str, token: str) -> None:
        """Ask CML to register with a Smart Licensing token; completion is seen by
        polling :meth:`licensing`. A rejected token raises ``CmlError`` (status 400)."""
        ...

    async def deregister_license(self, host: str) -> None:
        """Deregister; an already unregistered product raises ``CmlError`` (status 400)."""
        ...

    async def post_notice(self, host: str, label: str, content: str) -> str:
        """Show every user of the worker a warning (``POST /system/notices``, enabled,
        level WARNING); its id. ``label`` is at most 128 characters, ``content`` 8192."""
        ...

    async def notices(self, host: str) -> tuple[CmlNotice, ...]:
        """The worker's system notices (``GET /system/notices``)."""
        ...

    async def act_on_lab(self, host: str, lab_id: str, action: LabAction) -> None:
        """Start, stop, wipe or delete a lab. Starting a started lab or stopping a stopped
        one does nothing; wiping or deleting a started lab is refused (``CmlError``,
        status 400); an unknown lab raises ``CmlError`` (status 404)."""
        ...


LAB_EVENT_CATEGORIES = frozenset(
    {"start_lab", "stop_lab", "queue_node", "start_node", "stop_node", "boot_node"}
    | {"wipe_node", "import_lab"}
)
"""Telemetry categories that say a lab's state or nodes changed (the spec's
``TelemetryEventCategory``); their ``data`` is free-form, so none is trusted to name its lab."""


# ------------------------------------------------------------------ license states

_REGISTERING = {"IN_PROGRESS", "RETRY_IN_PROGRESS", "REGISTERING"}
_EXPIRED = {"EVAL_EXPIRED", "AUTHORIZATION_EXPIRED", "EXPIRED", "OUT_OF_COMPLIANCE"}


def license_status_of(licensing: CmlLicensing) -> LicenseStatus:
    """The worker license status CML's registration/authorization strings mean."""
    registration = (licensing.registration_status or "").upper()
    authorization = (licensing.authorization_status or "").upper()
    if registration in _REGISTERING:
        return LicenseStatus.REGISTERING
    if registration == "FAILED":
        return LicenseStatus.FAILED
    if authorization in _EXPIRED:
        return LicenseStatus.EXPIRED
    if registration == "COMPLETED":
        return LicenseStatus.REGISTERED
    if authorization in {"EVAL", "EVALUATION"}:
        return LicenseStatus.EVALUATION
    return LicenseStatus.UNREGISTERED


# ------------------------------------------------------------------ JSON bodies


def _when(text: Any) -> datetime | None:
    """An ISO 8601 time as an aware datetime (UTC when the text has no offset)."""
    if not isinstance(text, str) or not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Checked:
    """Reads numbers out of one answer, naming the impossible ones instead of using them."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.invalid: list[str] = []

    def refuse(self, name: str) -> None:
        self.invalid.append(f"{self.prefix}.{name}")

    def percent(self, name: str, value: Any) -> float | None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if not 0 <= value <= 100:
            self.refuse(name)
            return None
        return float(value)

    def share(self, name: str, part: Any, total: Any) -> float | None:
        """``part`` of ``total`` in percent; impossible when negative or over the total."""
        numbers = (int, float)
        if not isinstance(part, numbers) or not isinstance(total, numbers) or total == 0:
            return None
        if total < 0 or part < 0 or part > total:
            self.refuse(name)
            return None
        return round(100.0 * part / total, 2)

    def count(self, name: str, value: Any, at_most: int | None = None) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        if value < 0 or (at_most is not None and value > at_most):
            self.refuse(name)
            return None
        return value


def parse_system_information(body: Mapping[str, Any]) -> CmlSystemInfo:
    ready = body["ready"]
    if not isinstance(ready, bool):  # "false" is not False
        raise TypeError("system_information.ready is not a boolean")
    return CmlSystemInfo(version=str(body["version"]), ready=ready)


def parse_system_health(body: Mapping[str, Any]) -> CmlHealth:
    computes = dict(body.get("computes") or {})
    return CmlHealth(
        valid=body.get("valid"),
        is_licensed=body.get("is_licensed"),
        is_enterprise=bool(body.get("is_enterprise", False)),
        controller_valid=bool((body.get("controller") or {}).get("valid", False)),
        computes=len(computes),
        computes_valid=all(bool(c.get("valid")) for c in computes.values()),
    )


def parse_system_stats(body: Mapping[str, Any]) -> CmlStats:
    check = _Checked("system_stats")
    totals = body.get("all") or {}
    memory = totals.get("memory") or {}
    disk = (body.get("controller") or {}).get("disk") or totals.get("disk") or {}
    doms = [c.get("stats", {}).get("dominfo", {}) for c in (body.get("computes") or {}).values()]
    total_nodes = check.count("total_nodes", _sum_known(d.get("total_nodes") for d in doms))
    running = _sum_known(d.get("running_nodes") for d in doms)
    return CmlStats(
        cpu_percent=check.percent("cpu_percent", (totals.get("cpu") or {}).get("percent")),
        memory_percent=check.share("memory_percent", memory.get("used"), memory.get("total")),
        disk_percent=check.share("disk_percent", disk.get("used"), disk.get("total")),
        running_nodes=check.count("running_nodes", running, at_most=total_nodes),
        total_nodes=total_nodes,
        invalid=tuple(check.invalid),
    )


def _sum_known(values: Any) -> int | None:
    known = [v for v in values if isinstance(v, int)]
    return sum(known) if known else None


def parse_licensing(body: Mapping[str, Any]) -> CmlLicensing:
    registration = body.get("registration") or {}
    authorization = body.get("authorization") or {}
    renew = registration.get("renew_time") or registration.get("register_time") or {}
    return CmlLicensing(
        registration_status=registration.get("status"),
        authorization_status=authorization.get("status"),
        product_license=(body.get("product_license") or {}).get("active"),
        registration_expires=_when(registration.get("expires")),
        authorization_expires=_when(authorization.get("expires")),
        failure=renew.get("failure"),
    )


def parse_lab(body: Mapping[str, Any], running_nodes: int | None = None) -> CmlLab:
    check = _Checked("labs")
    node_count = check.count("node_count", int(body.get("node_count", 0)))
    return CmlLab(
        id=str(body["id"]),
        title=str(body.get("lab_title", "")),
        state=str(body.get("state", "DEFINED_ON_CORE")),
        node_count=node_count or 0,
        running_nodes=check.count("running_nodes", running_nodes, at_most=node_count),
        owner_username=body.get("owner_username"),
        modified=_when(body.get("modified")),
        owner_id=body.get("owner"),
        link_count=check.count("link_count", body.get("link_count")),
        created=_when(body.get("created")),
        invalid=tuple(check.invalid),
    )


def parse_telemetry_event(body: Mapping[str, Any]) -> CmlTelemetryEvent:
    timestamp = _when(body["timestamp"])
    if timestamp is None:
        raise ValueError("telemetry event without a timestamp")
    return CmlTelemetryEvent(
        category=str(body["category"]), timestamp=timestamp, data=dict(body.get("data") or {})
    )
