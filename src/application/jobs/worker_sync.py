"""One worker's turn in a metrics cycle: observe, then record only what changed.

Cheap when nothing changed: the observation is compared with the worker's DTO and
with a mirror of its recorded telemetry (loaded once from the store, then kept in
step with the same pure rule the aggregate applies), so a steady worker costs no
store access at all. The aggregate stays the authority: every recording goes through
a command handler, which decides again.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.cloud import InstanceInfo
from application.cml import CmlPort, license_status_of
from application.commands.common import CommandResult
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
)
from application.jobs.ports import RunSync, UtilizationSample
from application.jobs.probe import CmlProbe, failure_detail, probe_cml
from application.jobs.region import RegionView
from application.mapper import clamp_percent, prefer, rfc3339
from application.ports import WorkerStore
from application.ports_errors import CmlError
from domain.errors import DomainError
from domain.policies import material_changes
from domain.status import LicenseStatus, ServiceStatus, WorkerStatus
from domain.values import MetricThresholds, Telemetry

_LICENSE_IN_PROGRESS = frozenset(
    {LicenseStatus.REGISTERING.value, LicenseStatus.DEREGISTERING.value}
)


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


class WorkerSync:
    """Observes and records one worker at a time (called concurrently)."""

    def __init__(
        self,
        *,
        store: WorkerStore,
        cml: CmlPort,
        run_sync: RunSync,
        backoff: Backoff,
        thresholds: MetricThresholds,
        worker_timeout: float,
        service_account: re.Pattern[str],
        actor: str,
    ) -> None:
        self.store, self.cml, self.run_sync, self.backoff = store, cml, run_sync, backoff
        self.thresholds, self.worker_timeout = thresholds, worker_timeout
        self.service_account, self.actor = service_account, actor
        self._mirrors: dict[str, _Mirror] = {}
        self._cursors: dict[str, datetime] = {}

    async def run(
        self, dto: CMLWorkerDto, region: RegionView, now: datetime, correlation_id: str
    ) -> WorkerOutcome:
        seen = await self._observe(dto, region, now)
        observe = self._observation(seen, now, correlation_id)
        activity = self._activity(seen, correlation_id)
        license = self._license(seen, correlation_id)
        mirror = self._known_mirror(dto)
        metrics_due = mirror is None or self._metrics(seen, region, now, "", mirror) is not None
        results: list[CommandResult] = []
        if observe is not None or activity is not None or license is not None or metrics_due:
            try:  # one thread hop per worker for all its recordings
                results = await self.run_sync(
                    self._record, seen, region, now, correlation_id, observe, activity, license
                )
            except (ApplicationError, DomainError):
                return WorkerOutcome(dto.id, failed=True, probed=seen.probe is not None)
        return WorkerOutcome(
            dto.id,
            failed=seen.failure is not None,
            probed=seen.probe is not None or seen.failure is not None,
            backed_off=seen.backed_off,
            changes=len(results),
            position=max((r.position for r in results), default=0),
            sample=_sample(seen, region, now),
        )

    def _record(
        self,
        seen: _Seen,
        region: RegionView,
        now: datetime,
        correlation_id: str,
        observe: ObserveInstance | None,
        activity: RecordActivity | None,
        license: ObserveLicenseStatus | None = None,
    ) -> list[CommandResult]:
        """The recordings, through the command handlers (runs in a worker thread)."""
        results = []
        if observe is not None:
            results.append(observe_instance(observe, self.store))
        if license is not None:
            results.append(observe_license_status(license, self.store))
        dto = seen.dto
        mirror = self._known_mirror(dto) or self._load_mirror(dto)
        step = self._metrics(seen, region, now, correlation_id, mirror)
        if step is not None:
            command, changes = step
            result = record_metrics(command, self.store, _At(now))
            if result.changed:
                self._mirrors[dto.id] = _Mirror(mirror.telemetry.updated(changes), now)
            else:
                self._mirrors.pop(dto.id, None)  # out of step: reload next time
            results.append(result)
        if activity is not None:
            results.append(record_activity(activity, self.store))
            newest = max(r.at for r in activity.records)  # full precision, unlike the cursor
            self._cursors[dto.id] = max(newest, self._cursors.get(dto.id, newest))
        return [r for r in results if r.changed]

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
        if status is None and service is None and endpoint is None:
            return None
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
    ) -> tuple[RecordMetrics, dict[str, Any]] | None:
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

    def _load_mirror(self, dto: CMLWorkerDto) -> _Mirror:
        worker = self.store.get(UUID(dto.id))
        mirror = _Mirror(worker.telemetry, worker.metrics_recorded_at)
        self._mirrors[dto.id] = mirror
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
        disk_percent=clamp_percent(stats.disk_percent if stats else None),
    )
    known = (sample.cpu_percent, sample.memory_percent, sample.disk_percent)
    return sample if any(v is not None for v in known) else None
