"""The metrics collection job: refresh every worker from EC2, CloudWatch and CML.

One cycle reads the fleet from the read model, asks EC2 and CloudWatch once per
region (batched), probes each running worker's CML concurrently (bounded), records
what changed through the command handlers, stores raw utilization samples on the read
side, and broadcasts full snapshots of the workers whose DTO changed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import uuid4

from application.cloud import CloudPort
from application.cml import CmlLab, CmlPort
from application.commands.group_commit import GroupCommit
from application.dto import CMLWorkerDto
from application.jobs.backoff import Backoff
from application.jobs.lab_watch import LabWatch
from application.jobs.ports import FleetView, SnapshotSink, UtilizationHistory
from application.jobs.region import NOT_ASKED, RegionView, look_at_region
from application.jobs.region_health import RegionHealth
from application.jobs.worker_sync import WorkerOutcome, WorkerSync
from application.labs import LabsChanged, LabStore, labs_changed
from application.ports import RunSync, WorkerStore
from domain.values import MetricThresholds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsJobConfig:
    """The job's knobs (built from settings by the composition root)."""

    concurrency: int = 32
    thresholds: MetricThresholds = field(default_factory=MetricThresholds)
    snapshot_every_n_cycles: int = 10
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(minutes=15)
    retention: timedelta = timedelta(hours=24)
    read_wait_timeout: float = 5.0
    worker_timeout: float = 30.0
    service_account_pattern: str = "^cml-fleet$"
    actor: str = "job:metrics"
    region_unhealthy_after: int = 3
    """Failed looks in a row after which a region counts as unhealthy."""
    region_timeout: float = 30.0
    """Longest wait for one region's EC2/CloudWatch calls in a cycle, in seconds."""
    labs_full_refresh_every_n_cycles: int = 10
    """Every lab's details are read again each N cycles (telemetry does not report
    every change, e.g. an edited lab); in between only new or reported labs are."""


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did."""

    cycle: int
    correlation_id: str
    at: datetime
    workers: int
    probed: int
    backed_off: int
    failures: int
    failed_workers: tuple[str, ...]
    region_failures: tuple[str, ...]
    """Regions asked this cycle whose EC2 or CloudWatch did not answer."""
    regions_backed_off: tuple[str, ...]
    """Regions not asked this cycle: they kept failing and are backed off."""
    changes_recorded: int
    """Commands that recorded at least one event."""
    snapshots_broadcast: int
    samples: int
    labs_changed: int
    """Workers whose labs changed (rows written, ``worker.labs.changed`` sent)."""
    duration_seconds: float


class MetricsJob:
    """Holds what must survive between cycles: back-off, telemetry mirrors, activity
    cursors, the versions last broadcast. One instance per process."""

    def __init__(
        self,
        *,
        store: WorkerStore,
        read_model: FleetView,
        cloud: CloudPort,
        cml: CmlPort,
        run_sync: RunSync,
        hub: SnapshotSink | None = None,
        history: UtilizationHistory | None = None,
        config: MetricsJobConfig | None = None,
        regions: RegionHealth | None = None,
        labs: LabStore | None = None,
    ) -> None:
        self.config = config or MetricsJobConfig()
        self.regions = regions or RegionHealth(
            Backoff(self.config.backoff_base, self.config.backoff_max),
            unhealthy_after=self.config.region_unhealthy_after,
        )
        self.read_model = read_model
        self.cloud = cloud
        self.hub = hub
        self.history = history
        self.run_sync = run_sync
        self.backoff = Backoff(self.config.backoff_base, self.config.backoff_max)
        self.labs = labs
        self.lab_watch = LabWatch(self.config.labs_full_refresh_every_n_cycles)
        self._lab_rows: dict[str, tuple[CmlLab, ...]] = {}
        self._labs_retained = False
        self.sync = WorkerSync(
            labs=self.lab_watch,
            commit=GroupCommit(store, run_sync),
            cml=cml,
            backoff=self.backoff,
            thresholds=self.config.thresholds,
            worker_timeout=self.config.worker_timeout,
            service_account=re.compile(self.config.service_account_pattern),
            actor=self.config.actor,
        )
        self.cycles = 0
        self._broadcast: dict[str, int] = {}
        self._failing_turns: set[str] = set()

    async def run(self, now: datetime) -> CycleReport:
        """One cycle at ``now``."""
        started = time.perf_counter()
        self.cycles += 1
        correlation_id = f"metrics-{uuid4()}"
        workers = await self.run_sync(self.read_model.all_workers)
        watched = [w for w in workers if w.instance_id is not None]
        regions = await self._look_at_regions(watched, now, correlation_id)
        outcomes = await self._sync_all(watched, regions, now, correlation_id)
        samples = [o.sample for o in outcomes if o.sample is not None]
        if self.history is not None:
            await self.run_sync(self.history.append, samples)
            await self.run_sync(self.history.prune, now - self.config.retention)
        sent = await self._broadcast_snapshots(workers, outcomes)
        labs_changed = await self._keep_labs(workers, outcomes, now)
        self.sync.forget_all_but({w.id for w in workers})
        self._failing_turns &= {w.id for w in workers}
        failed = tuple(o.worker_id for o in outcomes if o.failed)
        return CycleReport(
            cycle=self.cycles,
            correlation_id=correlation_id,
            at=now,
            workers=len(workers),
            probed=sum(o.probed for o in outcomes),
            backed_off=sum(o.backed_off for o in outcomes),
            failures=len(failed),
            failed_workers=failed,
            region_failures=tuple(r for r, v in regions.items() if v.failures),
            regions_backed_off=tuple(r for r, v in regions.items() if v.backed_off),
            changes_recorded=sum(o.changes for o in outcomes),
            snapshots_broadcast=sent,
            samples=len(samples),
            labs_changed=labs_changed,
            duration_seconds=time.perf_counter() - started,
        )

    async def _look_at_regions(
        self, workers: Sequence[CMLWorkerDto], now: datetime, correlation_id: str
    ) -> dict[str, RegionView]:
        """Each region asked once (unless backed off), all at once; one region's
        failure, whatever it is, stays with that region."""
        ids: dict[str, list[str]] = defaultdict(list)
        for w in workers:
            assert w.instance_id is not None
            ids[w.region].append(w.instance_id)

        async def look(region: str, instance_ids: list[str]) -> RegionView:
            if not self.regions.should_ask(region, now):
                return NOT_ASKED
            timeout = self.config.region_timeout
            return await look_at_region(self.cloud, region, instance_ids, now, timeout)

        answers = await asyncio.gather(*(look(r, i) for r, i in ids.items()))
        views = dict(zip(ids, answers, strict=True))
        for region, view in views.items():
            if self.regions.record(region, view, now):
                _log_region(region, view, self.regions.state(region).retry_at, correlation_id)
        self.regions.forget_all_but(ids)
        return views

    async def _sync_all(
        self,
        workers: Sequence[CMLWorkerDto],
        regions: dict[str, RegionView],
        now: datetime,
        correlation_id: str,
    ) -> list[WorkerOutcome]:
        """Every worker's turn, taken by a few tasks in order: at most ``concurrency``
        workers probing and about a batch waiting for their save, so a big fleet keeps
        few turns in memory at a time."""
        probes = asyncio.Semaphore(max(1, self.config.concurrency))
        outcomes: dict[str, WorkerOutcome] = {}
        turns = iter(workers)

        async def take_turns() -> None:
            for dto in turns:
                outcomes[dto.id] = await self._turn(dto, regions, now, correlation_id, probes)

        tasks = max(1, self.config.concurrency) + self.sync.commit.batch_size
        await asyncio.gather(*(take_turns() for _ in range(min(tasks, len(workers)))))
        return [outcomes[w.id] for w in workers]

    async def _turn(
        self,
        dto: CMLWorkerDto,
        regions: dict[str, RegionView],
        now: datetime,
        correlation_id: str,
        probes: asyncio.Semaphore,
    ) -> WorkerOutcome:
        try:
            outcome = await self.sync.run(dto, regions[dto.region], now, correlation_id, probes)
        except Exception:
            # A bug must not cost the whole fleet its refresh: it stays with this
            # worker, logged loudly once per streak (not every cycle).
            if dto.id not in self._failing_turns:
                log.error(
                    "metrics for worker %s failed; logged once until it recovers",
                    dto.id,
                    exc_info=True,
                    extra={"correlation_id": correlation_id, "worker_id": dto.id},
                )
            self._failing_turns.add(dto.id)
            return WorkerOutcome(dto.id, failed=True)
        self._failing_turns.discard(dto.id)
        return outcome

    async def _keep_labs(
        self, workers: Sequence[CMLWorkerDto], outcomes: Sequence[WorkerOutcome], now: datetime
    ) -> int:
        """Write the rows of the workers whose labs changed (one transaction), tell the
        subscribers what changed, and drop the rows of workers no longer managed."""
        if self.labs is None:
            return 0
        writes: dict[str, tuple[CmlLab, ...]] = {}
        changes: list[LabsChanged] = []
        for outcome in outcomes:
            if outcome.labs is None:
                continue
            before = self._lab_rows.get(outcome.worker_id)
            if before == outcome.labs:
                continue
            writes[outcome.worker_id] = outcome.labs
            change = labs_changed(outcome.worker_id, before or (), outcome.labs, now)
            if change is not None:
                changes.append(change)
        present = {w.id for w in workers}
        gone = [worker_id for worker_id in self._lab_rows if worker_id not in present]
        if writes:
            await self.run_sync(self.labs.replace, writes, now)
            self._lab_rows.update(writes)
        if gone:
            await self.run_sync(self.labs.forget, gone)
            for worker_id in gone:
                del self._lab_rows[worker_id]
        if not self._labs_retained:  # once per process: workers gone while it was down
            await self.run_sync(self.labs.retain, sorted(present))
            self._labs_retained = True
        if changes and self.hub is not None:
            self.hub.broadcast_labs(changes)
        return len(changes)

    async def _broadcast_snapshots(
        self, workers: Sequence[CMLWorkerDto], outcomes: Sequence[WorkerOutcome]
    ) -> int:
        """Full snapshots of the workers whose DTO changed since they were last sent,
        and of every worker each Nth cycle, once the read model has the changes."""
        if self.hub is None:
            return 0
        every = max(1, self.config.snapshot_every_n_cycles)
        everyone = self.cycles % every == 0
        last = max((o.position for o in outcomes), default=0)
        if last and not await self.read_model.wait_until(last, self.config.read_wait_timeout):
            log.warning("read model did not reach %s in time; snapshots may lag", last)
        changed = {o.worker_id for o in outcomes if o.changes}
        stale = {w.id for w in workers if self._broadcast.get(w.id) != w.version}
        ids = None if everyone else sorted(changed | stale)
        if ids == []:
            return 0
        dtos, position = await self.run_sync(self.read_model.snapshot, ids)
        if not everyone:
            dtos = tuple(d for d in dtos if self._broadcast.get(d.id) != d.version)
        if dtos:
            result = self.hub.broadcast_snapshots(dtos, position)
            if asyncio.iscoroutine(result):
                await result
        present = {w.id for w in workers}
        self._broadcast = {k: v for k, v in self._broadcast.items() if k in present}
        self._broadcast.update((d.id, d.version) for d in dtos)
        return len(dtos)


def _log_region(
    region: str, view: RegionView, retry_at: datetime | None, correlation_id: str
) -> None:
    """One line when a region starts failing, fails another way, or answers again."""
    extra = {"correlation_id": correlation_id, "region": region}
    if not view.failures:
        log.info("EC2/CloudWatch in %s answer again", region, extra=extra)
        return
    unexpected = next((f.error for f in view.failures if f.unexpected), None)
    log.log(
        logging.ERROR if unexpected is not None else logging.WARNING,
        "EC2/CloudWatch in %s failing (%s); other regions carry on; asked again at %s",
        region,
        ", ".join(view.errors),
        retry_at.isoformat() if retry_at is not None else "the next cycle",
        exc_info=unexpected,
        extra=extra,
    )
