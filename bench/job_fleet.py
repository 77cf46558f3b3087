"""A simulated fleet under the real system, for the job benchmarks.

``bootstrap`` with SQLite files in a temporary directory, the simulated cloud and CML
on a ``FakeClock``, and the metrics job the composition root builds. Instances are
launched with a past (running, CML ready) and imported in batches straight into the
store: seeding is set-up, not what is measured.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from application.jobs.metrics import CycleReport, MetricsJob
from domain.cause import Cause
from domain.policies import worker_status_for_ec2_state
from domain.spec import WorkerSpec
from domain.worker import CMLWorker
from infrastructure.outside.simulated import SimulatedCloud, SimWorld
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.builders import build_metrics_job
from infrastructure.wiring.demo import launch_with_past

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1")
IMPORT_BATCH = 500


class JobFleet:
    """The system, its simulated world and the metrics job, driven by a fake clock."""

    def __init__(
        self,
        data_dir: Path,
        latency_ms: float = 0.0,
        busy_fraction: float = 0.5,
        operations_enabled: bool = True,
    ):
        self.clock = FakeClock(T0)
        settings = Settings(
            data_dir=data_dir,
            demo_workers=0,
            scheduler_enabled=False,
            sim_latency_ms=latency_ms,
            sim_busy_fraction=busy_fraction,
            operations_enabled=operations_enabled,
        )
        self.system: System = bootstrap(settings, clock=self.clock)
        assert isinstance(self.system.cloud, SimulatedCloud)
        self.world: SimWorld = self.system.cloud.world
        self.job: MetricsJob = build_metrics_job(self.system)

    def seed(
        self,
        count: int,
        busy: bool | None = None,
        first: int = 0,
        tags: dict[str, str] | None = None,
    ) -> list[str]:
        """``count`` running instances (launched 10 minutes ago: CML is ready), imported;
        ``busy``: whether they have users (``None``: the world's busy fraction decides).
        Returns the worker ids."""
        batch: list[CMLWorker] = []
        ids: list[str] = []
        for k in range(first, first + count):
            region = REGIONS[k % len(REGIONS)]
            name = f"worker-{k:05d}"
            instance = launch_with_past(
                self.world, name, region, "m5.2xlarge", {}, age=timedelta(minutes=10), busy=busy
            )
            info = instance.info()
            worker = CMLWorker.import_instance(
                WorkerSpec(name, region, info.instance_type, tags=dict(tags or {})),
                instance_id=info.instance_id,
                observed=worker_status_for_ec2_state(info.state),
                cause=Cause("bench", "bench-setup"),
            )
            batch.append(worker)
            ids.append(str(worker.id))
            if len(batch) == IMPORT_BATCH:
                self.system.store.save(*batch)
                batch = []
        if batch:
            self.system.store.save(*batch)
        return ids

    async def cycle(self, after: timedelta = timedelta(0)) -> CycleReport:
        """Let ``after`` pass, then run one cycle on a read model that has caught up."""
        self.clock.advance(after)
        await self.caught_up()
        return await self.job.run(self.clock.now())

    async def caught_up(self) -> None:
        position = self.system.store.max_position()
        assert await self.system.read_model.wait_until(position, 120.0), "read model behind"

    def calls(self) -> Counter[str]:
        """Simulated calls so far, by operation."""
        with self.world.lock:
            counts: Counter[str] = Counter()
            for (op, _), n in self.world.calls.items():
                counts[op] += n
            return counts

    def events(self, after: int) -> list[tuple[str, str]]:
        """(worker id, event class) of each stored event after position ``after``."""
        found: list[tuple[str, str]] = []
        while True:
            page: Sequence[Any] = self.system.store.read_log(after, 1000)
            found += [(str(n.originator_id), n.topic.rsplit(".", 1)[-1]) for n in page]
            if len(page) < 1000:
                return found
            after = page[-1].id

    def event_types(self, after: int) -> Counter[str]:
        """Stored events after position ``after``, by event class."""
        return Counter(kind for _, kind in self.events(after))


def calls_between(before: Counter[str], after: Counter[str]) -> Counter[str]:
    return Counter({op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)})
