"""The CML port on the simulated world.

Each call resolves the host to its instance and answers like CML would at this moment:
no answer while the instance is not running or CML is still booting, ``ready: false``
for a while after that, then the full API. Bodies are built to the spec's schemas and
read back with the same parsers the HTTP adapter uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from application import cml as api
from application.ports_errors import CmlError, CmlUnreachable
from infrastructure.outside.simulated import cml_bodies as bodies
from infrastructure.outside.simulated.cml_host import LabRefused, SimLab, token_accepted
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.outside.simulated.world import Fault, SimWorld

TOKEN_PATTERN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/%=-")


class SimulatedCml:
    """``CmlPort`` over a :class:`SimWorld`."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    async def _enter(self, call: str, host: str, *, login: bool = True) -> SimInstance:
        """Count the call, apply latency and faults, and find a CML that answers."""
        fault = await self.world.enter(f"cml:{call}", host)
        if fault in (Fault.TIMEOUT_BEFORE, Fault.TIMEOUT_AFTER):
            raise CmlUnreachable(host, "timed out (simulated)")
        if fault is Fault.ERROR:
            raise CmlError(host, "HTTP 503 Service Unavailable (simulated)", status=503)
        with self.world.lock:
            instance = self.world.resolve(host)
            if instance is None:
                raise CmlUnreachable(host, "name or address not known")
            now = self.world.now()
            if instance.state != "running":
                raise CmlUnreachable(host, "connection timed out")
            if not instance.cml.answers(now):
                raise CmlUnreachable(host, "connection refused")
            if login:
                instance.cml.service_login(now)
            return instance

    async def _read(
        self, call: str, host: str, body: Callable[[SimInstance], Any], *, login: bool = True
    ) -> Any:
        """A read: the body of the CML behind ``host`` as the spec has it, now."""
        instance = await self._enter(call, host, login=login)
        with self.world.lock:
            return body(instance)

    async def system_information(self, host: str) -> api.CmlSystemInfo:
        body = await self._read(
            "GET /system_information",
            host,
            lambda i: bodies.system_information(i.cml, self.world.now()),
            login=False,
        )
        return api.parse_system_information(body)

    async def system_health(self, host: str) -> api.CmlHealth:
        body = await self._read(
            "GET /system_health", host, lambda i: bodies.system_health(i.cml, self.world.now())
        )
        return api.parse_system_health(body)

    async def system_stats(self, host: str) -> api.CmlStats:
        return api.parse_system_stats(await self._read("GET /system_stats", host, stats_body))

    async def licensing(self, host: str) -> api.CmlLicensing:
        body = await self._read(
            "GET /licensing", host, lambda i: bodies.licensing(i.cml, self.world.now())
        )
        return api.parse_licensing(body)

    async def labs(self, host: str) -> tuple[api.CmlLab, ...]:
        instance = await self._enter("GET /labs", host)
        with self.world.lock:
            cml = instance.cml
            return tuple(
                api.parse_lab(bodies.lab(cml, lab), lab.node_count if lab.state == "STARTED" else 0)
                for lab in cml.labs
            )

    async def lab_ids(self, host: str) -> tuple[str, ...]:
        return tuple(await self._read("GET /labs", host, lambda i: [lab.id for lab in i.cml.labs]))

    async def lab(self, host: str, lab_id: str) -> api.CmlLab | None:
        def body(instance: SimInstance) -> api.CmlLab | None:
            found = _lab(instance, lab_id)
            if found is None:
                return None
            running = found.node_count if found.state == "STARTED" else 0
            return api.parse_lab(bodies.lab(instance.cml, found), running)

        result: api.CmlLab | None = await self._read("GET /labs/{lab_id}", host, body)
        return result

    async def download_lab(self, host: str, lab_id: str) -> str:
        def body(instance: SimInstance) -> str | None:
            found = _lab(instance, lab_id)
            return None if found is None else bodies.lab_yaml(found)

        text: str | None = await self._read("GET /labs/{lab_id}/download", host, body)
        if text is None:
            raise CmlError(host, f"HTTP 404: Lab not found: {lab_id}", status=404)
        return text

    async def import_lab(self, host: str, topology: Mapping[str, Any], title: str | None) -> str:
        instance = await self._enter("POST /import", host)
        return self.world.import_lab(instance, dict(topology), title)

    async def post_notice(self, host: str, label: str, content: str) -> str:
        instance = await self._enter("POST /system/notices", host)
        body = {"level": "WARNING", "label": label[:128], "content": content[:8192],
                "enabled": True}  # fmt: skip
        return str(self.world.post_notice(instance, body)["id"])

    async def notices(self, host: str) -> tuple[api.CmlNotice, ...]:
        found = await self._read("GET /system/notices", host, lambda i: list(i.cml.notices))
        return tuple(api.parse_notice(n) for n in found)

    async def telemetry_events(self, host: str) -> tuple[api.CmlTelemetryEvent, ...]:
        events = await self._read("GET /telemetry/events", host, lambda i: list(i.cml.events))
        return tuple(api.parse_telemetry_event(e) for e in events)

    async def register_license(self, host: str, token: str) -> None:
        instance = await self._enter("POST /licensing/registration", host)
        if not token or len(token) > 256 or not set(token) <= TOKEN_PATTERN_CHARS:
            raise CmlError(host, "HTTP 400: invalid token format", status=400)
        with self.world.lock:
            cml = instance.cml
            cml.settle_license(self.world.now())
            if cml.registration in ("IN_PROGRESS", "COMPLETED"):
                raise CmlError(host, f"HTTP 409: registration {cml.registration}", status=409)
            self.world.license(instance, "register", token_accepted(token))

    async def deregister_license(self, host: str) -> None:
        instance = await self._enter("DELETE /licensing/deregistration", host)
        with self.world.lock:
            cml = instance.cml
            cml.settle_license(self.world.now())
            if cml.registration == "UNREGISTERED":
                raise CmlError(host, "HTTP 400: already deregistered", status=400)
            if cml.registration == "IN_PROGRESS":
                raise CmlError(host, "HTTP 409: registration in progress", status=409)
            self.world.license(instance, "deregister")

    async def act_on_lab(self, host: str, lab_id: str, action: api.LabAction) -> None:
        method, template = action.call
        instance = await self._enter(f"{method} {template}", host)
        try:
            self.world.lab(instance, lab_id, action.value)
        except LabRefused as refused:
            raise CmlError(
                host, f"HTTP {refused.status}: {refused}", status=refused.status
            ) from None


def _lab(instance: SimInstance, lab_id: str) -> SimLab | None:
    return next((lab for lab in instance.cml.labs if lab.id == lab_id), None)


def stats_body(instance: SimInstance) -> dict[str, Any]:
    vcpus, memory_gib = instance.vcpus_and_memory
    return bodies.system_stats(
        instance.cml, vcpus, memory_gib, instance.cpu, instance.mem, instance.disk
    )
