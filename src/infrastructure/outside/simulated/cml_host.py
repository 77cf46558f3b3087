"""The CML controller running on one simulated instance: labs, telemetry, license.

Its answers are JSON bodies shaped exactly like the CML 2.9 REST API's
(``SystemInformation``, ``SystemHealth``, ``SystemStats``, ``LicensingStatus``,
``LabResponse``, ``TelemetryEventResponse``); a contract test validates them against
the spec, and the simulated port reads them with the same parsers as the HTTP adapter.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from application.mapper import rfc3339

CML_VERSION = "2.9.0+build.3"
SERVICE_ACCOUNT = "cml-fleet"
"""The user our own API calls log in as (its logins show up as ``user_activity``)."""
USERS = ("alice", "bob", "carol", "dmitri", "eun-ji")
LAB_TITLES = ("CCNA study", "OSPF areas", "BGP lab", "SD-WAN demo", "EVPN fabric", "QoS")
MAX_EVENTS = 500
SSMS = "https://smartreceiver.cisco.com/licservice/license"
LICENSE_STATES = (
    ("COMPLETED", "IN_COMPLIANCE"),
    ("UNREGISTERED", "EVAL"),
    ("UNREGISTERED", "EVAL_EXPIRED"),
)
# Per 30 s tick on a busy worker: mean idle gap ~15 min, mean lab session ~20 min.
P_LAB_START, P_LAB_STOP, P_USER_ACTIVE = 1 / 30, 1 / 40, 1 / 6
P_LAB_EDIT = 1 / 60
"""Per tick of a busy worker: a user edits a lab (adds a node), which CML's telemetry
does not report: only a full refresh sees it."""


def token_accepted(token: str) -> bool:
    """Smart Licensing refuses some tokens after accepting the request: here, those
    that say so (``bad...``, ``invalid...``, ``expired...``)."""
    return not token.lower().startswith(("bad", "invalid", "expired"))


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class SimLab:
    id: str
    title: str
    owner: str
    node_count: int
    created: datetime
    modified: datetime
    state: str = "STOPPED"
    topology: dict[str, Any] | None = None
    """What it was imported from (``None``: made up by the simulation)."""

    @property
    def link_count(self) -> int:
        if self.topology is not None:
            return len(self.topology.get("links") or ())
        return max(0, self.node_count - 1)

    def as_topology(self) -> dict[str, Any]:
        """The lab as the spec's ``Topology`` (what a download gives)."""
        if self.topology is not None:
            lab = dict(self.topology.get("lab") or {}) | {"title": self.title}
            return self.topology | {"lab": lab}
        nodes = [
            {"id": f"n{i}", "label": f"node-{i}", "node_definition": "iosv", "x": 100 * i, "y": 0}
            for i in range(self.node_count)
        ]
        return {"lab": {"version": "0.2.2", "title": self.title}, "nodes": nodes, "links": []}


class LabRefused(Exception):
    """CML refused an operator's action on a lab (``status``: the HTTP status it answers)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


class SimCml:
    """CML on one instance. Stepped by its instance; time always comes in as ``at``."""

    def __init__(self, rng: random.Random, created: datetime, busy: bool) -> None:
        self.busy = busy
        self.compute_id = uuid4(rng)
        self.product_uuid = uuid4(rng)
        self.owner_ids = {user: uuid4(rng) for user in USERS}
        self.labs = [self._new_lab(rng, created) for _ in range(rng.randint(0, 3))]
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self.up_at: datetime | None = None
        self.ready_at: datetime | None = None
        self.logged_in = False
        self.registration, self.authorization = rng.choices(LICENSE_STATES, weights=(55, 35, 10))[0]
        self.license_pending: tuple[datetime, str, str] | None = None
        self.license_failure: str | None = None
        self.notices: list[dict[str, Any]] = []  # system notices (``SystemNotice`` bodies)

    # ----------------------------------------------------------------- life

    def boot(self, at: datetime, rng: random.Random) -> None:
        """The instance came up: the API answers after a while, is ready later."""
        self.up_at = at + timedelta(seconds=rng.uniform(40, 90))
        self.ready_at = self.up_at + timedelta(seconds=rng.uniform(30, 90))
        self.logged_in = False

    def shut_down(self, at: datetime) -> None:
        """The instance stopped: every lab is stopped, the API is gone."""
        for lab in self.labs:
            if lab.state == "STARTED":
                lab.state, lab.modified = "STOPPED", at
        self.up_at = self.ready_at = None

    def answers(self, at: datetime) -> bool:
        return self.up_at is not None and at >= self.up_at

    def ready(self, at: datetime) -> bool:
        return self.ready_at is not None and at >= self.ready_at

    def running_labs(self) -> list[SimLab]:
        return [lab for lab in self.labs if lab.state == "STARTED"]

    def running_nodes(self) -> int:
        return sum(lab.node_count for lab in self.running_labs())

    # ------------------------------------------------------------- activity

    def step(self, at: datetime, rng: random.Random) -> None:
        """One tick of a ready controller: users start and stop labs on busy workers."""
        self.settle_license(at)
        if at.minute == 0 and at.second < 30:
            self._event(at, "system_stats", {"running_nodes": self.running_nodes()})
        if not self.busy:
            return
        running = self.running_labs()
        if not running and rng.random() < P_LAB_START:
            self._start_lab(at, rng)
        elif running and rng.random() < P_LAB_STOP:
            self._stop_lab(at, running[0])
        elif running and rng.random() < P_USER_ACTIVE:
            self._event(at, "user_activity", {"user_name": running[0].owner, "action": "console"})
        elif self.labs and rng.random() < P_LAB_EDIT:
            lab = rng.choice(self.labs)
            if lab.topology is None:
                lab.node_count, lab.modified = lab.node_count + 1, at

    def _start_lab(self, at: datetime, rng: random.Random) -> None:
        if not self.labs or rng.random() < 0.2:
            self.labs.append(self._new_lab(rng, at))
        lab = rng.choice(self.labs)
        lab.state, lab.modified = "STARTED", at
        self._event(at, "user_activity", {"user_name": lab.owner, "action": "login"})
        self._event(at, "start_lab", {"lab_id": lab.id, "nodes": lab.node_count})
        for _ in range(min(lab.node_count, 3)):
            self._event(at, "boot_node", {"lab_id": lab.id})

    def _stop_lab(self, at: datetime, lab: SimLab) -> None:
        lab.state, lab.modified = "STOPPED", at
        self._event(at, "stop_lab", {"lab_id": lab.id, "user_name": lab.owner})

    def act_on_lab(self, lab_id: str, action: str, at: datetime) -> None:
        """An operator's ``start``, ``stop``, ``wipe`` or ``delete``; raises ``LabRefused``
        (and changes nothing) where CML refuses it."""
        lab = next((lab for lab in self.labs if lab.id == lab_id), None)
        if lab is None:
            raise LabRefused(404, f"Lab not found: {lab_id}")
        if action in ("wipe", "delete") and lab.state == "STARTED":
            raise LabRefused(400, f"Lab {lab_id} is running: stop it first")
        if action == "delete":
            self.labs.remove(lab)
            return
        wanted = {"start": "STARTED", "stop": "STOPPED", "wipe": "DEFINED_ON_CORE"}[action]
        if lab.state == wanted:
            return  # nothing to do, as CML answers
        lab.state, lab.modified = wanted, at
        if action in ("start", "stop"):
            self._event(at, f"{action}_lab", {"lab_id": lab.id, "user_name": SERVICE_ACCOUNT})
        else:
            self._event(at, "wipe_node", {"lab_id": lab.id, "user_name": SERVICE_ACCOUNT})

    def import_lab(
        self, lab_id: str, topology: dict[str, Any], title: str | None, at: datetime
    ) -> None:
        """A lab made from ``topology`` (already valid), owned by our service account."""
        if SERVICE_ACCOUNT not in self.owner_ids:
            digest = hashlib.blake2b(self.compute_id.encode(), digest_size=16).digest()
            self.owner_ids[SERVICE_ACCOUNT] = str(uuid.UUID(bytes=digest, version=4))
        title = title or (topology.get("lab") or {}).get("title") or f"Lab at {at:%a %H:%M}"
        nodes = len(topology.get("nodes") or ())
        lab = SimLab(lab_id, title, SERVICE_ACCOUNT, nodes, at, at, topology=topology)
        self.labs.append(lab)
        self._event(at, "import_lab", {"lab_id": lab_id, "user_name": SERVICE_ACCOUNT})

    def _new_lab(self, rng: random.Random, at: datetime) -> SimLab:
        title = f"{rng.choice(LAB_TITLES)} {rng.randint(1, 99)}"
        owner = rng.choice(USERS)
        return SimLab(uuid4(rng), title, owner, rng.randint(2, 12), at, at)

    def _event(self, at: datetime, category: str, data: dict[str, Any]) -> None:
        self.events.append({"category": category, "timestamp": rfc3339(at), "data": data})

    def service_login(self, at: datetime) -> None:
        """Our own first authenticated call after a boot logs in, as CML records it."""
        if not self.logged_in:
            self.logged_in = True
            self._event(at, "user_activity", {"user_name": SERVICE_ACCOUNT, "action": "login"})

    # -------------------------------------------------------------- license

    def register(self, at: datetime, token: str, rng: random.Random) -> None:
        """Accept a registration with ``token`` (never kept)."""
        self.register_outcome(at, token_accepted(token), rng)

    def register_outcome(self, at: datetime, accepted: bool, rng: random.Random) -> None:
        """Accept a registration; it completes (or fails, for a bad token) a bit later."""
        done = at + timedelta(seconds=rng.uniform(10, 30))
        self.license_failure = None
        if accepted:
            self.license_pending = (done, "COMPLETED", "IN_COMPLIANCE")
        else:
            self.license_pending = (done, "FAILED", self.authorization)
        self.registration = "IN_PROGRESS"

    def deregister(self) -> None:
        self.registration, self.authorization = "UNREGISTERED", "EVAL"
        self.license_pending = None

    def settle_license(self, at: datetime) -> None:
        if self.license_pending is not None and at >= self.license_pending[0]:
            _, self.registration, self.authorization = self.license_pending
            self.license_pending = None
            if self.registration == "FAILED":
                self.license_failure = "Invalid registration token"
