"""One worker's turn in a metrics cycle: observe, then record only what changed.

Cheap when nothing changed: the observation is compared with the worker's DTO and
with a mirror of its recorded telemetry (loaded once from the store, then kept in
step with the same pure rule the aggregate applies), so a steady worker costs no
store access at all. The aggregate stays the authority: every recording goes through
a command handler, which decides again. A worker's recordings of a cycle share one
load and one save, and the saves of concurrent workers share a transaction
(``GroupCommit``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from application.cloud import InstanceInfo
from application.cml import CmlPort, license_status_of
from application.commands.common import CommandResult
from application.commands.group_commit import GroupCommit
from application.commands.license_sync import ObserveLicenseStatus, observe_license_status
from application.commands.observations import (
    ObserveInstance,
    RecordActivity,
    RecordMetrics,
    observe_instance,
    record_activity,
    record_metrics,
)
from application.dto import CMLWorkerDto
from application.errors import ApplicationError
from application.jobs.backoff import Backoff
from application.jobs.observe import (
    host_of,
    observed_telemetry,
    relevant_activity,
    service_status_of,
    status_to_record,
    why_ended,
)
from application.jobs.ports import UtilizationSample
from application.jobs.probe import CmlProbe, failure_detail, probe_cml
from application.jobs.region import RegionView
from application.mapper import prefer, rfc3339, round_percent
from application.ports import WorkerStore
from application.ports_errors import CmlError
from domain.errors import DomainError
from domain.policies import material_changes
from domain.status import LICENSE_IN_PROGRESS, LicenseStatus, ServiceStatus, WorkerStatus
from domain.tags import managed as managed_tags
from domain.values import MetricThresholds, Telemetry

log = logging.getLogger(__name__)
_LICENSE_IN_PROGRESS = frozenset(s.value for s in LICENSE_IN_PROGRESS)  # as the DTO says it


@dataclass(frozen=True)
class WorkerOutcome:
    worker_id: str
    failed: bool = False
    probed: bool = False
    backed_off: bool = False
    changes: int = 0
    position: int = 0
    sample: UtilizationSample | None = None


@dataclass(frozen=True)
class _Mirror:
    telemetry: Telemetry
    recorded_at: datetime | None


@dataclass(frozen=True)
class _At:
    """The cycle's ``now`` as a clock, so every recording of a cycle has its time."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass(frozen=True)
class _Seen:
    """One worker's observation in this cycle."""

    dto: CMLWorkerDto
    info: InstanceInfo | None
    ec2_known: bool
    running: bool | None
    probe: CmlProbe | None = None
    failure: str | None = None
    backed_off: bool = False


_MetricsStep = tuple[RecordMetrics, dict[str, Any]]
"""The metrics recording due, with the changes the aggregate will make."""


@dataclass
class _Plan:
    """What one worker records this cycle: the commands decided from its observation,
    and the metrics step when its recorded telemetry is ``known`` without the store
    (else it is loaded with the worker). Each run of the recording (again after a
    conflict) sets ``mirror``: the telemetry mirror to keep once the worker is saved,
    ``None`` to forget it."""

    seen: _Seen
    region: RegionView
    now: datetime
    correlation_id: str
    observe: ObserveInstance | None
    activity: RecordActivity | None
    license: ObserveLicenseStatus | None
    known: _Mirror | None
    metrics: _MetricsStep | None
    mirror: _Mirror | None = None

    @property
    def due(self) -> bool:
        """Whether there may be something to record (an unknown mirror is loaded)."""
        commands = (self.observe, self.activity, self.license, self.metrics)
        return self.known is None or any(c is not None for c in commands)


class WorkerSync:
    """Observes and records one worker at a time (called concurrently); the
    recordings of concurrent workers are saved together (``GroupCommit``)."""

    def __init__(
        self,
        *,
        commit: GroupCommit,
        cml: CmlPort,
        backoff: Backoff,
        thresholds: MetricThresholds,
        worker_timeout: float,
        service_account: re.Pattern[str],
        actor: str,
    ) -> None:
        self.commit, self.cml, self.backoff = commit, cml, backoff
        self.thresholds, self.worker_timeout = thresholds, worker_timeout
        self.service_account, self.actor = service_account, actor
        self._mirrors: dict[str, _Mirror] = {}
        self._cursors: dict[str, datetime] = {}

    async def run(
        self,
        dto: CMLWorkerDto,
        region: RegionView,
        now: datetime,
        correlation_id: str,
        probes: asyncio.Semaphore,
    ) -> WorkerOutcome:
        """Observe (holding one of ``probes``), then record what changed (without it:
        the next workers are probed while this one waits for its save)."""
        async with probes:
            seen = await self._observe(dto, region, now)
        plan = self._plan(seen, region, now, correlation_id)
        results: list[CommandResult] = []
        if plan.due:
            try:  # one load and one save for all its recordings, with other workers'
                results = await self.commit.record(UUID(dto.id), partial(self._record, plan))
            except (ApplicationError, DomainError):
                return WorkerOutcome(dto.id, failed=True, probed=seen.probe is not None)
            self._saved(plan)
        return WorkerOutcome(
            dto.id,
            failed=seen.failure is not None,
            probed=seen.probe is not None or seen.failure is not None,
            backed_off=seen.backed_off,
            changes=len(results),
            position=max((r.position for r in results), default=0),
            sample=_sample(seen, region, now),
        )

    def _record(self, plan: _Plan, store: WorkerStore) -> list[CommandResult]:
        """The recordings, through the command handlers, on the worker ``store``
        holds (runs in a worker thread; may run again after a conflict)."""
        results = []
        if plan.observe is not None:
            results.append(observe_instance(plan.observe, store))
        if plan.license is not None:
            results.append(observe_license_status(plan.license, store))
        mirror, step = plan.known, plan.metrics
        if mirror is None:
            mirror = _stored_mirror(store, plan.seen.dto)
            step = self._metrics(plan.seen, plan.region, plan.now, plan.correlation_id, mirror)
        plan.mirror = mirror
        if step is not None:
            command, changes = step
            result = record_metrics(command, store, _At(plan.now))
            changed = _Mirror(mirror.telemetry.updated(changes), plan.now)
            plan.mirror = changed if result.changed else None  # else out of step: reload
            results.append(result)
        if plan.activity is not None:
            results.append(record_activity(plan.activity, store))
        return [r for r in results if r.changed]

    def _plan(self, seen: _Seen, region: RegionView, now: datetime, correlation_id: str) -> _Plan:
        known = self._known_mirror(seen.dto)
        metrics = None if known is None else self._metrics(seen, region, now, correlation_id, known)
        return _Plan(
            seen,
            region,
            now,
            correlation_id,
            observe=self._observation(seen, now, correlation_id),
            activity=self._activity(seen, correlation_id),
            license=self._license(seen, correlation_id),
            known=known,
            metrics=metrics,
        )

    def _saved(self, plan: _Plan) -> None:
        """Keep in step with what was saved: the telemetry mirror, the activity cursor."""
        worker_id = plan.seen.dto.id
        if plan.mirror is None:
            self._mirrors.pop(worker_id, None)
        else:
            self._mirrors[worker_id] = plan.mirror
        if plan.activity is not None:
            newest = max(r.at for r in plan.activity.records)  # full precision, unlike the cursor
            self._cursors[worker_id] = max(newest, self._cursors.get(worker_id, newest))

    def forget_all_but(self, worker_ids: set[str]) -> None:
        for table in (self._mirrors, self._cursors):
            for key in set(table) - worker_ids:
                del table[key]
        self.backoff.forget_all_but(worker_ids)

    # ----------------------------------------------------------- observing

    async def _observe(self, dto: CMLWorkerDto, region: RegionView, now: datetime) -> _Seen:
        assert dto.instance_id is not None
        known = region.instances is not None
        info = region.instances.get(dto.instance_id) if region.instances is not None else None
        if known:
            running: bool | None = info is not None and info.state == "running"
        else:
            running = True if dto.status == WorkerStatus.RUNNING.value else None
        source = info or dto
        host = host_of(source.public_dns, source.public_ip, source.private_ip)
        if not running or host is None:
            return _Seen(dto, info, known, running)
        if not self.backoff.ready(dto.id, now):
            return _Seen(dto, info, known, running, backed_off=True)
        try:
            async with asyncio.timeout(self.worker_timeout):
                probe = await probe_cml(self.cml, host)
        except (CmlError, TimeoutError) as error:
            self.backoff.failed(dto.id, now)
            return _Seen(dto, info, known, running, failure=failure_detail(error))
        except Exception as error:  # bulkhead: an adapter's bug stays with this worker
            if self.backoff.failures(dto.id) == 0:
                log.error("CML probe of worker %s failed unexpectedly", dto.id, exc_info=True)
            self.backoff.failed(dto.id, now)
            return _Seen(dto, info, known, running, failure=failure_detail(error))
        self.backoff.succeeded(dto.id)
        return _Seen(dto, info, known, running, probe=probe)

    # ----------------------------------------------------------- recording

    def _observation(
        self, seen: _Seen, now: datetime, correlation_id: str
    ) -> ObserveInstance | None:
        """What to record of the instance and service, compared with the DTO. A stop
        or start nobody here asked for is recorded as external (``at``)."""
        dto, info = seen.dto, seen.info
        status = None
        if seen.ec2_known:
            status = status_to_record(WorkerStatus(dto.status), info.state if info else None)
        service = _service(seen)
        if service is not None and (service[0].value, service[1]) == (
            dto.service_status,
            dto.service_detail,
        ):
            service = None
        endpoint = info if info is not None and _endpoint_moved(info, dto) else None
        tags = None
        if info is not None and managed_tags(info.tags) != managed_tags(dto.tags):
            tags = dict(info.tags)  # changed in EC2 (or ours on its way there: not recorded)
        if status is None and service is None and endpoint is None and tags is None:
            return None
        ended = None
        if status is WorkerStatus.TERMINATED:
            ended = why_ended(dto.instance_id, dto.region, info.state if info else None)
        return ObserveInstance(
            worker_id=UUID(dto.id),
            actor=self.actor,
            correlation_id=correlation_id,
            status=status,
            service_status=service[0] if service else None,
            service_detail=service[1] if service else None,
            public_ip=endpoint.public_ip if endpoint else None,
            private_ip=endpoint.private_ip if endpoint else None,
            public_dns=endpoint.public_dns if endpoint else None,
            at=now,
            ended=ended,
            tags=tags,
        )

    def _license(self, seen: _Seen, correlation_id: str) -> ObserveLicenseStatus | None:
        """Passive license sync: the status CML reports, when it changed (expiry, a
        deregistration elsewhere) and no license operation of ours is in progress."""
        if seen.probe is None:
            return None
        licensing = seen.probe.licensing
        status = license_status_of(licensing)
        recorded = seen.dto.license_status
        if status.value == recorded or recorded in _LICENSE_IN_PROGRESS:
            return None
        return ObserveLicenseStatus(
            worker_id=UUID(seen.dto.id),
            actor=self.actor,
            correlation_id=correlation_id,
            status=status,
            detail=licensing.failure if status is LicenseStatus.FAILED else None,
        )

    def _metrics(
        self, seen: _Seen, region: RegionView, now: datetime, correlation_id: str, mirror: _Mirror
    ) -> _MetricsStep | None:
        """The metrics recording due, with the changes the aggregate will make, if any."""
        dto = seen.dto
        observed = observed_telemetry(
            mirror.telemetry,
            running=seen.running,
            checks=region.checks,
            cloud=region.metrics,
            instance_id=dto.instance_id or "",
            probe=seen.probe,
            cml_failed=seen.failure is not None,
        )
        changes = material_changes(
            mirror.telemetry, observed, mirror.recorded_at, now, self.thresholds
        )
        if changes is None or (not changes and seen.running is not True):
            return None  # nothing material; no freshness marks for idle, stopped workers
        command = RecordMetrics(
            worker_id=UUID(dto.id),
            actor=self.actor,
            correlation_id=correlation_id,
            telemetry=observed,
            thresholds=self.thresholds,
        )
        return command, changes

    def _known_mirror(self, dto: CMLWorkerDto) -> _Mirror | None:
        """The worker's recorded telemetry if known without the store, else ``None``."""
        mirror = self._mirrors.get(dto.id)
        if mirror is None and dto.metrics_recorded_at is None:
            return _Mirror(Telemetry(), None)  # never recorded
        if mirror is None or rfc3339(mirror.recorded_at) != dto.metrics_recorded_at:
            return None  # unknown, or changed by someone else
        return mirror

    def _activity(self, seen: _Seen, correlation_id: str) -> RecordActivity | None:
        """New relevant CML activity since the last look, if any. With nothing to
        record the cursor moves at once, else once the recording is done."""
        if seen.probe is None or not seen.probe.events:
            return None
        dto = seen.dto
        cursor = self._cursors.get(dto.id) or _parse(dto.last_activity_at)
        records = relevant_activity(seen.probe, cursor, self.service_account)
        newest = max(e.timestamp for e in seen.probe.events)
        if not records:
            self._cursors[dto.id] = max(newest, cursor) if cursor is not None else newest
            return None
        return RecordActivity(
            worker_id=UUID(dto.id),
            actor=self.actor,
            correlation_id=correlation_id,
            records=records,
            cursor=rfc3339(newest),
        )


def _service(seen: _Seen) -> tuple[ServiceStatus, str | None] | None:
    """The service status seen, or ``None`` when this cycle says nothing about it
    (backed off, no address yet, EC2 not answering)."""
    if seen.probe is not None or seen.failure is not None:
        return service_status_of("running", seen.probe, seen.failure)
    if seen.ec2_known and not seen.running:
        return service_status_of(seen.info.state if seen.info else None, None, None)
    return None


def _stored_mirror(store: WorkerStore, dto: CMLWorkerDto) -> _Mirror:
    worker = store.get(UUID(dto.id))
    return _Mirror(worker.telemetry, worker.metrics_recorded_at)


def _endpoint_moved(info: InstanceInfo, dto: CMLWorkerDto) -> bool:
    seen = (info.public_ip, info.private_ip, info.public_dns)
    return seen != (dto.public_ip, dto.private_ip, dto.public_dns)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _sample(seen: _Seen, region: RegionView, now: datetime) -> UtilizationSample | None:
    """This cycle's fresh readings only (never carried-forward values)."""
    if seen.running is not True:
        return None
    stats = seen.probe.stats if seen.probe is not None else None
    cloud = (region.metrics or {}).get(seen.dto.instance_id or "")
    fresh = cloud is not None and cloud.at is not None and now - cloud.at < timedelta(minutes=15)
    cw_cpu = cloud.cpu_percent if cloud is not None and fresh else None
    cw_mem = cloud.memory_percent if cloud is not None and fresh else None
    sample = UtilizationSample(
        worker_id=seen.dto.id,
        at=now,
        cpu_percent=prefer(stats.cpu_percent if stats else None, cw_cpu),
        memory_percent=prefer(stats.memory_percent if stats else None, cw_mem),
        disk_percent=round_percent(stats.disk_percent if stats else None),
    )
    known = (sample.cpu_percent, sample.memory_percent, sample.disk_percent)
    return sample if any(v is not None for v in known) else None
