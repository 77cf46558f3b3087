"""The simulated world: one seeded fleet shared by the simulated cloud and CML.

Time comes from the injected clock, so lifecycles advance when a ``FakeClock`` is
moved, not with sleeps. Every port call is counted (per operation, per target and
per client token) so tests can check that an operation happened exactly once.
Latency, errors and timeouts are knobs; whether a given call fails is decided by a
hash of (seed, operation, target, n-th call), so it is the same on every run.

Every change goes through a method here that also writes it to the journal, so a
world given the same journal is the same world (see :mod:`.journal`).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from application.ports import Clock
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.outside.simulated.journal import Journal

ACTIONS = ("start", "stop", "terminate")


@dataclass
class SimKnobs:
    """How the simulated network and fleet behave. Change them at any time."""

    seed: int = 42
    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    busy_fraction: float = 0.5
    region_faults: dict[str, RegionFault] = field(default_factory=dict)
    """Regions whose every EC2/CloudWatch call fails, and how."""


class RegionFault(Enum):
    """How a whole region fails, as a real endpoint can (see ``SimulatedCloud``)."""

    REFUSED = "refused"
    THROTTLED = "throttled"
    SERVER_ERROR = "server error"
    NOT_AWS = "not an AWS answer"
    NO_ANSWER = "no answer"
    NOBODY_LISTENING = "nobody listening"


class Fault(Enum):
    NONE = "none"
    ERROR = "error"
    TIMEOUT_BEFORE = "timeout before the effect"
    TIMEOUT_AFTER = "timeout after the effect"


def _unit(text: str) -> float:
    """A uniform number in [0, 1) that depends only on ``text``."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class SimWorld:
    """Every simulated instance, by id, region and address."""

    def __init__(
        self, clock: Clock, knobs: SimKnobs | None = None, journal: Journal | None = None
    ) -> None:
        self.clock = clock
        self.knobs = knobs or SimKnobs()
        self.journal = journal or Journal(None)
        self.lock = threading.RLock()
        self._instances: dict[str, SimInstance] = {}
        self._by_region: dict[str, dict[str, SimInstance]] = {}
        self._by_host: dict[str, SimInstance] = {}
        self._launched = 0
        self.calls: Counter[tuple[str, str]] = Counter()
        self.token_calls: Counter[str] = Counter()
        self.token_launches: Counter[str] = Counter()
        self.tokens: dict[str, tuple[str, tuple[Any, ...]]] = {}
        entries = self.journal.entries()
        if entries and entries[0]["op"] == "world":
            self.knobs.seed = entries[0]["seed"]  # the journal's world, whatever settings say
        else:
            self.journal.append({"op": "world", "seed": self.knobs.seed})
        self._replay(entries)

    def now(self) -> datetime:
        return self.clock.now()

    # ------------------------------------------------------------- changes

    def launch(
        self,
        region: str,
        instance_type: str,
        ami_id: str | None,
        tags: Mapping[str, str],
        *,
        at: datetime | None = None,
        busy: bool | None = None,
        token: str | None = None,
        params: Sequence[Any] = (),
    ) -> SimInstance:
        """A new instance entering ``pending`` at ``at`` (default: now)."""
        with self.lock:
            at = at or self.now()
            if busy is None:
                busy = (
                    _unit(f"{self.knobs.seed}|busy|{self._launched + 1}") < self.knobs.busy_fraction
                )
            entry: dict[str, Any] = {"op": "launch", "at": at.isoformat(), "region": region}
            entry |= {"type": instance_type}
            entry |= {"ami": ami_id, "tags": dict(tags), "busy": busy, "token": token}
            self.journal.append(entry | {"params": list(params)})
            return self._launch(region, instance_type, ami_id, dict(tags), at, busy, token, params)

    add_instance = launch  # the first name of :meth:`launch`, still used by test fakes

    def act(self, instance: SimInstance, action: str, at: datetime | None = None) -> None:
        """Start, stop or terminate, as EC2 would at ``at`` (raises ``CloudConflict``)."""
        with self.lock:
            at = at or self.now()
            instance.advance(at)
            getattr(instance, action)(at)  # may refuse: then nothing is journaled
            self.journal.append(
                {"op": "act", "at": at.isoformat(), "id": instance.instance_id, "action": action}
            )

    def retag(self, instance: SimInstance, add: Mapping[str, str], remove: Sequence[str]) -> None:
        with self.lock:
            self._retag(instance, dict(add), list(remove))
            entry = {"op": "tags", "id": instance.instance_id, "add": dict(add)}
            self.journal.append(entry | {"remove": list(remove)})

    def license(self, instance: SimInstance, action: str, accepted: bool = True) -> None:
        """Register (``accepted``: whether the token is good) or deregister.

        The token itself is never kept, here or in the journal.
        """
        with self.lock:
            at = self.now()
            self._license(instance, action, accepted, at)
            entry = {"op": "license", "at": at.isoformat(), "id": instance.instance_id}
            self.journal.append(entry | {"action": action, "accepted": accepted})

    def lab(self, instance: SimInstance, lab_id: str, action: str) -> None:
        """An operator's action on a lab (``SimCml.act_on_lab``; a refusal journals nothing)."""
        with self.lock:
            at = self.now()
            self._lab(instance, lab_id, action, at)
            entry = {"op": "lab", "at": at.isoformat(), "id": instance.instance_id}
            self.journal.append(entry | {"lab": lab_id, "action": action})

    def import_lab(self, instance: SimInstance, topology: dict[str, Any], title: str | None) -> str:
        """A lab imported by an operator (``SimCml.import_lab``); returns its id."""
        with self.lock:
            at, lab_id = self.now(), str(uuid.uuid4())
            instance.advance(at)
            instance.cml.import_lab(lab_id, topology, title, at)
            entry = {"op": "import", "at": at.isoformat(), "id": instance.instance_id}
            self.journal.append(entry | {"lab": lab_id, "topology": topology, "title": title})
            return lab_id

    def post_notice(self, instance: SimInstance, body: dict[str, Any]) -> dict[str, Any]:
        """A system notice posted to the instance's CML (``SimCml.notices``): the stored
        ``SystemNotice``, with its new id."""
        with self.lock:
            notice = {
                "id": str(uuid.uuid4()),
                "level": body["level"],
                "label": body["label"],
                "content": body.get("content", ""),
                "enabled": bool(body.get("enabled", False)),
                "activated": self.now().isoformat() if body.get("enabled") else None,
                "acknowledged": {},
                "groups": list(body.get("groups", [])),
            }
            instance.cml.notices.append(notice)
            return dict(notice)

    def count_token(self, token: str) -> None:
        """A ``RunInstances`` call with this client token reached "AWS"."""
        with self.lock:
            self.token_calls[token] += 1
            self.journal.append({"op": "call", "token": token})

    # ------------------------------------------------------- applying them

    def _launch(
        self,
        region: str,
        instance_type: str,
        ami_id: str | None,
        tags: dict[str, str],
        at: datetime,
        busy: bool,
        token: str | None,
        params: Sequence[Any],
    ) -> SimInstance:
        self._launched += 1
        n = self._launched
        seed = self.knobs.seed
        instance = SimInstance(
            instance_id="i-" + hashlib.blake2b(f"{seed}:{n}".encode()).hexdigest()[:17],
            region=region,
            instance_type=instance_type,
            ami_id=ami_id,
            tags=tags,
            private_ip=f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256}",
            seed=seed,
            now=at,
            busy=busy,
            allocate_ip=self._allocate_ip,
        )
        self._instances[instance.instance_id] = instance
        self._by_region.setdefault(region, {})[instance.instance_id] = instance
        for host in (instance.instance_id, instance.private_ip):
            self._by_host[host] = instance
        if token is not None:
            self.tokens[token] = (instance.instance_id, tuple(params))
            self.token_launches[token] += 1
        return instance

    def _retag(self, instance: SimInstance, add: dict[str, str], remove: list[str]) -> None:
        instance.tags.update(add)
        for key in remove:
            instance.tags.pop(key, None)

    def _lab(self, instance: SimInstance, lab_id: str, action: str, at: datetime) -> None:
        instance.advance(at)
        instance.cml.act_on_lab(lab_id, action, at)

    def _license(self, instance: SimInstance, action: str, accepted: bool, at: datetime) -> None:
        instance.advance(at)
        if action == "register":
            instance.cml.register_outcome(at, accepted, instance.life)
        else:
            instance.cml.deregister()

    def _replay(self, entries: list[dict[str, Any]]) -> None:
        """Apply journaled changes again, in order, at their times."""
        for entry in entries:
            op = entry["op"]
            at = datetime.fromisoformat(entry["at"]) if "at" in entry else None
            if op == "world":
                continue
            if op == "launch":
                assert at is not None
                params = entry.get("params") or ()
                self._launch(
                    entry["region"],
                    entry["type"],
                    entry["ami"],
                    entry["tags"],
                    at,
                    entry["busy"],
                    entry["token"],
                    params,
                )
            elif op == "call":
                self.token_calls[entry["token"]] += 1
            elif (instance := self._instances.get(entry.get("id", ""))) is None:
                continue
            elif op == "act":
                assert at is not None
                instance.advance(at)
                getattr(instance, entry["action"])(at)
            elif op == "tags":
                self._retag(instance, entry["add"], entry["remove"])
            elif op == "license":
                assert at is not None
                self._license(instance, entry["action"], entry["accepted"], at)
            elif op == "lab":
                assert at is not None
                self._lab(instance, entry["lab"], entry["action"], at)
            elif op == "import":
                assert at is not None
                instance.advance(at)
                instance.cml.import_lab(entry["lab"], entry["topology"], entry["title"], at)

    def _allocate_ip(self, instance: SimInstance) -> str:
        """A public address per boot, from the instance's id (not from who asked first)."""
        salt = 0
        while True:
            key = f"{self.knobs.seed}|ip|{instance.instance_id}|{instance.boots}|{salt}"
            n = int(_unit(key) * 2**23)
            ip = f"3.{64 + (n >> 16)}.{(n >> 8) % 256}.{n % 256}"
            holder = self._by_host.get(ip)
            if holder is None or holder is instance or holder.public_ip != ip:
                self._by_host[ip] = instance
                return ip
            salt += 1

    # ------------------------------------------------------------- reading

    def find(self, instance_id: str, region: str | None = None) -> SimInstance | None:
        """The instance, brought up to now; ``None`` if unknown or no longer visible."""
        with self.lock:
            instance = self._instances.get(instance_id)
            if instance is None or (region is not None and instance.region != region):
                return None
            now = self.now()
            instance.advance(now)
            return instance if instance.visible(now) else None

    def in_region(self, region: str) -> list[SimInstance]:
        with self.lock:
            now = self.now()
            found = list(self._by_region.get(region, {}).values())
            for instance in found:
                instance.advance(now)
            return [i for i in found if i.visible(now)]

    def regions(self) -> tuple[str, ...]:
        with self.lock:
            return tuple(sorted(self._by_region))

    def resolve(self, host: str) -> SimInstance | None:
        """The instance answering at ``host`` (public IP or DNS, private IP, or id)."""
        with self.lock:
            instance = self._by_host.get(host)
            if instance is None and host.startswith("ec2-"):
                ip = host[4:].split(".", 1)[0].replace("-", ".")
                instance = self._by_host.get(ip)
            if instance is None:
                return None
            instance.advance(self.now())
            addresses = (instance.instance_id, instance.private_ip, instance.public_ip)
            return instance if host in addresses or host == instance.public_dns else None

    # ---------------------------------------------------------------- calls

    async def enter(self, op: str, target: str) -> Fault:
        """Count a call, wait the configured latency, and say whether it fails."""
        with self.lock:
            self.calls[(op, target)] += 1
            n = self.calls[(op, target)]
            knobs = self.knobs
        if knobs.latency_ms > 0:
            await asyncio.sleep(knobs.latency_ms / 1000.0)
        u = _unit(f"{knobs.seed}|{op}|{target}|{n}")
        if u < knobs.timeout_rate / 2:
            return Fault.TIMEOUT_BEFORE
        if u < knobs.timeout_rate:
            return Fault.TIMEOUT_AFTER
        if u < knobs.timeout_rate + knobs.error_rate:
            return Fault.ERROR
        return Fault.NONE

    def count(self, op: str | None = None, target: str | None = None) -> int:
        """How many calls were made (of ``op``, to ``target``; ``None`` means any)."""
        with self.lock:
            return sum(
                n
                for (o, t), n in self.calls.items()
                if (op is None or o == op) and (target is None or t == target)
            )
