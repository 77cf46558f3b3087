"""``CmlPort`` over the CML 2.9 REST API (``/api/v0``), with httpx.

Each method is one spec operation (two or three for the labs), and reads the answer
with the port's ``parse_*`` functions, like the simulated CML does.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from application.cml import (
    CmlHealth,
    CmlLab,
    CmlLicensing,
    CmlNotice,
    CmlStats,
    CmlSystemInfo,
    CmlTelemetryEvent,
    LabAction,
    parse_lab,
    parse_licensing,
    parse_notice,
    parse_system_health,
    parse_system_information,
    parse_system_stats,
    parse_telemetry_event,
)
from application.ports_errors import CmlError
from infrastructure.outside.cml_http.breaker import BreakerState
from infrastructure.outside.cml_http.transport import CmlTransport

ENDPOINTS = (
    ("POST", "/authenticate"),
    ("GET", "/system_information"),
    ("GET", "/system_health"),
    ("GET", "/system_stats"),
    ("GET", "/licensing"),
    ("POST", "/licensing/registration"),
    ("DELETE", "/licensing/deregistration"),
    ("GET", "/labs"),
    ("GET", "/labs/{lab_id}"),
    ("GET", "/labs/{lab_id}/lab_element_state"),
    ("GET", "/telemetry/events"),
    ("GET", "/labs/{lab_id}/download"),
    ("POST", "/import"),
    *(action.call for action in LabAction),
)
"""Every operation of the spec this adapter calls (a test checks them against it)."""

T = TypeVar("T")

RUNNING_NODE_STATES = frozenset({"STARTED", "BOOTED"})
"""Node states (``LabElementStateResponse``) that count as running: queued, stopped,
wiped and disconnected nodes do not."""


class HttpCml:
    """The CML API of every worker, through one :class:`CmlTransport`."""

    def __init__(self, transport: CmlTransport) -> None:
        self.transport = transport

    @property
    def calls(self) -> Counter[str]:
        """Requests sent, per ``"METHOD /path"`` of the spec (retries included)."""
        return self.transport.calls

    def breaker_state(self, host: str) -> BreakerState:
        return self.transport.breaker_state(host)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def start(self) -> None:
        """Nothing to start: connections are opened on first use."""

    async def stop(self) -> None:
        await self.aclose()

    # ------------------------------------------------------------ reads

    async def system_information(self, host: str) -> CmlSystemInfo:
        body = await self.transport.get_json(host, "/system_information", auth=False)
        return _parsed(host, "/system_information", parse_system_information, body)

    async def system_health(self, host: str) -> CmlHealth:
        body = await self.transport.get_json(host, "/system_health")
        return _parsed(host, "/system_health", parse_system_health, body)

    async def system_stats(self, host: str) -> CmlStats:
        body = await self.transport.get_json(host, "/system_stats")
        return _parsed(host, "/system_stats", parse_system_stats, body)

    async def licensing(self, host: str) -> CmlLicensing:
        body = await self.transport.get_json(host, "/licensing")
        return _parsed(host, "/licensing", parse_licensing, body)

    async def labs(self, host: str) -> tuple[CmlLab, ...]:
        """``GET /labs?show_all=true`` (every user's labs, for an admin), then each lab;
        the node states of a started lab give its running nodes."""
        ids = await self.lab_ids(host)
        labs = await asyncio.gather(*(self.lab(host, lab_id) for lab_id in ids))
        return tuple(lab for lab in labs if lab is not None)

    async def lab_ids(self, host: str) -> tuple[str, ...]:
        """``GET /labs?show_all=true``: every user's labs (for an admin)."""
        ids = await self.transport.get_json(host, "/labs", params={"show_all": "true"})
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise CmlError(host, "GET /labs: expected a list of lab ids", status=200)
        return tuple(ids)

    async def lab(self, host: str, lab_id: str) -> CmlLab | None:
        """``GET /labs/{lab_id}``; for a started lab its node states give its running
        nodes. ``None`` when the lab is gone (404)."""
        path = {"lab_id": lab_id}
        try:
            body = await self.transport.get_json(host, "/labs/{lab_id}", path=path)
            running = 0
            if isinstance(body, dict) and body.get("state") == "STARTED":
                template = "/labs/{lab_id}/lab_element_state"
                states = await self.transport.get_json(host, template, path=path)
                running = _running_nodes(host, states)
        except CmlError as error:
            if error.status == 404:  # deleted since it was listed
                return None
            raise
        return _parsed(host, "/labs/{lab_id}", lambda b: parse_lab(b, running), body)

    async def telemetry_events(self, host: str) -> tuple[CmlTelemetryEvent, ...]:
        """The whole history (the API has no filter), oldest first."""
        body = await self.transport.get_json(host, "/telemetry/events")
        if not isinstance(body, list):
            raise CmlError(host, "GET /telemetry/events: expected a list", status=200)
        events = [_parsed(host, "/telemetry/events", parse_telemetry_event, e) for e in body]
        return tuple(sorted(events, key=lambda event: event.timestamp))

    async def download_lab(self, host: str, lab_id: str) -> str:
        """``GET /labs/{lab_id}/download``: the YAML, as a JSON string."""
        body = await self.transport.get_json(
            host, "/labs/{lab_id}/download", path={"lab_id": lab_id}
        )
        if not isinstance(body, str):
            raise CmlError(host, "GET /labs/{lab_id}/download: expected a string", status=200)
        return body

    async def import_lab(self, host: str, topology: Mapping[str, Any], title: str | None) -> str:
        """``POST /import?title=`` with the topology as JSON; the answer names the lab."""
        params = {"title": title} if title else None
        response = await self.transport.request(
            host, "POST", "/import", params=params, json=dict(topology)
        )
        try:
            lab_id = response.json()["id"]
        except (ValueError, KeyError, TypeError):
            raise CmlError(host, "POST /import: the answer names no lab", status=200) from None
        return str(lab_id)

    # ---------------------------------------------------------- license

    async def register_license(self, host: str, token: str) -> None:
        """``POST /licensing/registration`` (204: accepted; completion shows in
        ``licensing``). The token never appears in an error."""
        await self.transport.request(
            host,
            "POST",
            "/licensing/registration",
            json={"token": token, "reregister": False},
            redact=(token,),
        )

    async def deregister_license(self, host: str) -> None:
        """``DELETE /licensing/deregistration`` (204, or 202 when only the local part
        could be done); 400 when already deregistered."""
        await self.transport.request(host, "DELETE", "/licensing/deregistration")

    async def post_notice(self, host: str, label: str, content: str) -> str:
        """``POST /system/notices``: an enabled WARNING for all users; the answer's id."""
        body = {"level": "WARNING", "label": label[:128], "content": content[:8192],
                "enabled": True}  # fmt: skip
        response = await self.transport.request(host, "POST", "/system/notices", json=body)
        notice = _parsed(host, "/system/notices", parse_notice, response.json())
        return notice.id

    async def notices(self, host: str) -> tuple[CmlNotice, ...]:
        response = await self.transport.request(host, "GET", "/system/notices")
        return _parsed(
            host, "/system/notices", lambda b: tuple(parse_notice(n) for n in b), response.json()
        )

    async def act_on_lab(self, host: str, lab_id: str, action: LabAction) -> None:
        """``PUT /labs/{lab_id}/start|stop|wipe`` or ``DELETE /labs/{lab_id}`` (204)."""
        method, template = action.call
        await self.transport.request(host, method, template, path={"lab_id": lab_id})


def _running_nodes(host: str, states: Any) -> int:
    nodes = states.get("nodes") if isinstance(states, Mapping) else None
    if not isinstance(nodes, Mapping):
        raise CmlError(host, "GET /labs/{lab_id}/lab_element_state: no nodes", status=200)
    return sum(1 for state in nodes.values() if state in RUNNING_NODE_STATES)


def _parsed(host: str, path: str, parse: Callable[[Any], T], body: Any) -> T:
    """``parse(body)``; an answer that does not read becomes ``CmlError``."""
    try:
        return parse(body)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        message = f"GET {path}: unexpected answer ({type(error).__name__})"
        raise CmlError(host, message, status=200) from None
