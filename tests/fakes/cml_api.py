"""What the fake CML answers, operation by operation, from the simulated world.

The state behind the answers (labs and their nodes, licensing, telemetry) is the
``SimCml`` of the instance at the requested host, and the bodies are the simulated
CML's (``infrastructure.outside.simulated.cml_bodies``); authentication and faults are the
server's (:mod:`tests.fakes.cml_server`). Every answer is checked against the spec
before it is sent.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.cml import LabAction
from infrastructure.outside.simulated import cml_bodies as bodies
from infrastructure.outside.simulated.cml import stats_body
from infrastructure.outside.simulated.cml_host import LabRefused, SimLab
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.outside.simulated.world import SimWorld
from tests.fakes.cml_spec import NO_BODY

Answer = tuple[int, Any]
"""(status, JSON body or ``NO_BODY``)."""

NODE_STATE = {"STARTED": "BOOTED", "STOPPED": "STOPPED", "DEFINED_ON_CORE": "DEFINED_ON_CORE"}


@dataclass(frozen=True)
class Call:
    """One authorized request to one worker's CML (the world lock is held)."""

    instance: SimInstance
    path: dict[str, str]
    body: Any
    now: datetime
    world: SimWorld
    query: Mapping[str, str] = field(default_factory=dict)


def error(status: int, description: str) -> Answer:
    """CML's ``Error`` / ``ErrorResponse`` body."""
    return status, {"code": status, "description": description}


def system_information(call: Call) -> Answer:
    return 200, bodies.system_information(call.instance.cml, call.now)


def system_health(call: Call) -> Answer:
    return 200, bodies.system_health(call.instance.cml, call.now)


def system_stats(call: Call) -> Answer:
    return 200, stats_body(call.instance)


def licensing(call: Call) -> Answer:
    return 200, bodies.licensing(call.instance.cml, call.now)


def labs(call: Call) -> Answer:
    return 200, [lab.id for lab in call.instance.cml.labs]


def lab(call: Call) -> Answer:
    found = _lab(call)
    if found is None:
        return error(404, "Lab not found")
    return 200, bodies.lab(call.instance.cml, found)


def lab_element_state(call: Call) -> Answer:
    """Every node of a started lab is booted; a stopped lab's nodes are stopped."""
    found = _lab(call)
    if found is None:
        return error(404, "Lab not found")
    nodes = {node_id(found, i): NODE_STATE[found.state] for i in range(found.node_count)}
    return 200, {"nodes": nodes, "links": {}, "interfaces": {}}


def telemetry_events(call: Call) -> Answer:
    return 200, list(call.instance.cml.events)


def register(call: Call) -> Answer:
    cml = call.instance.cml
    cml.settle_license(call.now)
    if cml.registration in ("IN_PROGRESS", "COMPLETED"):
        return error(409, f"Registration is {cml.registration}")
    cml.register(call.now, call.body["token"], call.instance.life)
    return 204, NO_BODY


def deregister(call: Call) -> Answer:
    cml = call.instance.cml
    cml.settle_license(call.now)
    if cml.registration == "UNREGISTERED":
        return 400, NO_BODY  # the spec gives this status no body
    if cml.registration == "IN_PROGRESS":
        return error(409, "Registration in progress")
    cml.deregister()
    return 204, NO_BODY


def lab_action(action: str) -> Callable[[Call], Answer]:
    """``PUT /labs/{lab_id}/<action>`` or ``DELETE /labs/{lab_id}``, by the simulated rules."""

    def act(call: Call) -> Answer:
        try:
            call.world.lab(call.instance, call.path["lab_id"], action)
        except LabRefused as refused:
            return error(refused.status, str(refused))
        return 204, NO_BODY

    return act


def download(call: Call) -> Answer:
    found = _lab(call)
    if found is None:
        return error(404, "Lab not found")
    return 200, bodies.lab_yaml(found)


def import_lab(call: Call) -> Answer:
    """``POST /import``: the body was checked against the spec's ``Topology``."""
    lab_id = call.world.import_lab(call.instance, call.body, call.query.get("title"))
    return 200, {"id": lab_id, "warnings": []}


def post_notice(call: Call) -> Answer:
    """``POST /system/notices``: the body was checked against ``SystemNoticeCreate``."""
    return 200, call.world.post_notice(call.instance, call.body)


def notices(call: Call) -> Answer:
    return 200, list(call.instance.cml.notices)


HANDLERS: dict[str, Callable[[Call], Answer]] = {
    "GET /system_information": system_information,
    "GET /system_health": system_health,
    "GET /system_stats": system_stats,
    "GET /licensing": licensing,
    "POST /licensing/registration": register,
    "DELETE /licensing/deregistration": deregister,
    "GET /labs": labs,
    "GET /labs/{lab_id}": lab,
    "GET /labs/{lab_id}/lab_element_state": lab_element_state,
    "GET /telemetry/events": telemetry_events,
    "GET /labs/{lab_id}/download": download,
    "POST /import": import_lab,
    "POST /system/notices": post_notice,
    "GET /system/notices": notices,
    **{" ".join(a.call): lab_action(a.value) for a in LabAction},
}


def node_id(lab: SimLab, index: int) -> str:
    """A stable UUID4-shaped id for the ``index``-th node of ``lab``."""
    digest = hashlib.blake2b(f"{lab.id}/{index}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def _lab(call: Call) -> SimLab | None:
    return next((lab for lab in call.instance.cml.labs if lab.id == call.path["lab_id"]), None)
