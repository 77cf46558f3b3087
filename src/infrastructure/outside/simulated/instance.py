"""One simulated EC2 instance: its lifecycle, its CloudWatch series and its CML.

Everything advances with the clock, lazily: when the instance is looked at, it is
stepped through every 30 s tick since it was last looked at. Each instance draws from
its own random streams (seeded by the world's seed and its id), so what it does is a
function of the seed, the times it is asked about and the commands it is given, never
of the order in which concurrent callers happen to reach it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from application.cloud import CloudMetrics, InstanceInfo, StatusCheck
from application.ports_errors import CloudConflict
from infrastructure.outside.simulated.cml_host import SimCml

TICK = timedelta(seconds=30)
MAX_TICKS = 2 * 24 * 120  # look back at most two days; older history cannot matter
VISIBLE_AFTER_TERMINATION = timedelta(hours=1)
SIZES = {
    "m5.xlarge": (4, 16),
    "m5.2xlarge": (8, 32),
    "m5.4xlarge": (16, 64),
    "c5.9xlarge": (36, 72),
}
INCORRECT_STATE = "IncorrectInstanceState"
TRANSITIONS = {  # state -> (next state, seconds it takes)
    "pending": ("running", (20, 45)),
    "stopping": ("stopped", (20, 60)),
    "shutting-down": ("terminated", (10, 30)),
}


def public_dns(ip: str, region: str) -> str:
    """EC2's public DNS name for an address (us-east-1 has its own suffix)."""
    zone = "compute-1" if region == "us-east-1" else f"{region}.compute"
    return f"ec2-{ip.replace('.', '-')}.{zone}.amazonaws.com"


def _clamp(value: float) -> float:
    return min(100.0, max(0.0, value))


class SimInstance:
    """An instance and everything running on it."""

    def __init__(
        self,
        *,
        instance_id: str,
        region: str,
        instance_type: str,
        ami_id: str | None,
        tags: dict[str, str],
        private_ip: str,
        seed: int,
        now: datetime,
        busy: bool,
        allocate_ip: Callable[[SimInstance], str],
    ) -> None:
        self._allocate_ip = allocate_ip
        self.instance_id, self.region, self.instance_type = instance_id, region, instance_type
        self.ami_id, self.tags, self.private_ip = ami_id, dict(tags), private_ip
        self.life = random.Random(f"{seed}:{instance_id}:life")
        self.walk = random.Random(f"{seed}:{instance_id}:walk")
        self.activity = random.Random(f"{seed}:{instance_id}:activity")
        self.cml = SimCml(self.life, now, busy)
        self.cwagent = self.life.random() < 0.6
        self.cpu_base = self.life.uniform(2.0, 8.0)
        self.mem_base = self.life.uniform(18.0, 35.0)
        self.disk = self.life.uniform(20.0, 45.0)
        self.cpu = self.cw_cpu = self.cpu_base
        self.mem = self.mem_base
        self.sampled_at: datetime | None = None
        self.state = "pending"
        self.until: datetime | None = now + self._duration("pending")
        self.launch_time = now
        self.running_since: datetime | None = None
        self.checks_ok_at: datetime | None = None
        self.public_ip: str | None = None
        self.public_dns: str | None = None
        self.terminated_at: datetime | None = None
        self.boots = 0
        self.ticked_at = now

    @property
    def vcpus_and_memory(self) -> tuple[int, int]:
        return SIZES.get(self.instance_type, (8, 32))

    def _duration(self, state: str) -> timedelta:
        low, high = TRANSITIONS[state][1]
        return timedelta(seconds=self.life.uniform(low, high))

    # ------------------------------------------------------------- lifecycle

    def set_state(self, state: str, at: datetime) -> None:
        """Enter ``state`` now; a transitional state completes on its own later."""
        self.state = state
        self.until = at + self._duration(state) if state in TRANSITIONS else None
        if state == "pending":
            self.launch_time = at
        if state in ("stopping", "shutting-down"):
            self.cml.shut_down(at)

    def start(self, at: datetime) -> None:
        """EC2 ``StartInstances``: a stopped instance goes pending; a live one is left."""
        if self.state == "stopped":
            self.set_state("pending", at)
        elif self.state not in ("pending", "running"):
            raise CloudConflict(f"cannot start a {self.state} instance", code=INCORRECT_STATE)

    def stop(self, at: datetime) -> None:
        if self.state in ("pending", "running"):
            self.set_state("stopping", at)
        elif self.state not in ("stopping", "stopped"):
            raise CloudConflict(f"cannot stop a {self.state} instance", code=INCORRECT_STATE)

    def terminate(self, at: datetime) -> None:
        if self.state not in ("shutting-down", "terminated"):
            self.set_state("shutting-down", at)

    def _complete(self, at: datetime) -> None:
        nxt = TRANSITIONS[self.state][0]
        self.state, self.until = nxt, None
        if nxt == "running":
            self.boots += 1
            self.public_ip = self._allocate_ip(self)
            self.public_dns = public_dns(self.public_ip, self.region)
            self.running_since = at
            self.checks_ok_at = at + timedelta(seconds=self.life.uniform(60, 150))
            self.cml.boot(at, self.life)
        else:
            self.public_ip = self.public_dns = None
            self.running_since = None
            self.sampled_at = None
        if nxt == "terminated":
            self.terminated_at = at

    def _settle(self, at: datetime) -> None:
        while self.until is not None and at >= self.until:
            self._complete(self.until)

    def advance(self, now: datetime) -> None:
        """Bring the instance up to ``now``, tick by tick."""
        self.ticked_at = max(self.ticked_at, now - TICK * MAX_TICKS)
        while self.ticked_at + TICK <= now:
            self.ticked_at += TICK
            self._settle(self.ticked_at)
            if self.state == "running":
                self._tick(self.ticked_at)
        self._settle(now)

    def visible(self, now: datetime) -> bool:
        gone = (
            self.terminated_at is not None and now - self.terminated_at > VISIBLE_AFTER_TERMINATION
        )
        return not gone

    # --------------------------------------------------------------- metrics

    def _tick(self, at: datetime) -> None:
        """A bounded random walk around a level set by what runs on the instance.

        Steady state jitters by about one point, well under the default 5-point
        threshold, so an idle worker records almost nothing; a lab starting moves CPU
        and memory by tens of points within a few minutes.
        """
        booting = not self.cml.ready(at)
        labs = len(self.cml.running_labs())
        cpu_level = 55.0 if booting else self.cpu_base + 14.0 * labs
        mem_level = self.mem_base + (5.0 if booting else 9.0 * labs)
        rng = self.walk
        self.cpu = _clamp(self.cpu + 0.25 * (cpu_level - self.cpu) + rng.gauss(0, 0.7))
        self.mem = _clamp(self.mem + 0.15 * (mem_level - self.mem) + rng.gauss(0, 0.3))
        self.disk = min(95.0, self.disk + 0.0005)
        self.cw_cpu = _clamp(self.cpu * 1.03 + rng.gauss(0, 0.3))
        self.sampled_at = at
        if not booting:
            self.cml.step(at, self.activity)

    # ------------------------------------------------------------ EC2 views

    def info(self) -> InstanceInfo:
        return InstanceInfo(
            instance_id=self.instance_id,
            region=self.region,
            state=self.state,
            instance_type=self.instance_type,
            ami_id=self.ami_id,
            name=self.tags.get("Name"),
            tags=dict(self.tags),
            public_ip=self.public_ip,
            private_ip=self.private_ip if self.state != "terminated" else None,
            public_dns=self.public_dns,
            launch_time=self.launch_time,
        )

    def status_check(self, now: datetime) -> StatusCheck:
        ok = self.checks_ok_at is not None and now >= self.checks_ok_at
        status = "ok" if ok else "initializing"
        return StatusCheck(self.instance_id, system_status=status, instance_status=status)

    def cloud_metrics(self) -> CloudMetrics | None:
        if self.state != "running" or self.sampled_at is None:
            return None
        memory = _clamp(self.mem + 3.0) if self.cwagent else None
        return CloudMetrics(round(self.cw_cpu, 2), memory and round(memory, 2), self.sampled_at)
