"""A worker's turn in a metrics cycle, step 2: plan what to record. The observation is
compared with the worker's DTO and with a mirror of its recorded telemetry (kept in
step with the same pure rule the aggregate applies, ``material_changes``), so a steady
worker plans nothing and costs no store access at all. The plan holds commands: the
aggregate still decides when they are recorded (step 3, ``sync_record``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.cloud import InstanceInfo
from application.cml import license_status_of
from application.commands.license_sync import ObserveLicenseStatus
from application.commands.observations import ObserveInstance, RecordActivity, RecordMetrics
from application.dto import CMLWorkerDto
from application.jobs.observe import (
    observed_telemetry,
    relevant_activity,
    status_to_record,
    why_ended,
)
from application.jobs.region import RegionView
from application.jobs.sync_observe import Seen
from application.mapper import rfc3339
from domain.license import License
from domain.policies import material_changes
from domain.status import LicenseStatus, WorkerStatus
from domain.tags import managed as managed_tags
from domain.values import MetricThresholds, Telemetry


@dataclass(frozen=True)
class Mirror:
    """A worker's recorded telemetry, as this job last saved or loaded it."""

    telemetry: Telemetry
    recorded_at: datetime | None


MetricsStep = tuple[RecordMetrics, dict[str, Any]]
"""The metrics recording due, with the changes the aggregate will make."""


@dataclass
class Plan:
    """What one worker records this cycle: the commands decided from its observation,
    and the metrics step when its recorded telemetry is ``known`` without the store
    (else it is loaded with the worker). Each run of the recording (again after a
    conflict) sets ``mirror``: the telemetry mirror to keep once the worker is saved,
    ``None`` to forget it."""

    seen: Seen
    region: RegionView
    now: datetime
    correlation_id: str
    observe: ObserveInstance | None
    activity: RecordActivity | None
    license: ObserveLicenseStatus | None
    known: Mirror | None
    metrics: MetricsStep | None
    mirror: Mirror | None = None

    @property
    def due(self) -> bool:
        """Whether there may be something to record (an unknown mirror is loaded)."""
        commands = (self.observe, self.activity, self.license, self.metrics)
        return self.known is None or any(c is not None for c in commands)


class Planner:
    """Plans each worker's recordings; remembers, per worker, the telemetry mirror and
    the activity cursor of what was saved."""

    def __init__(
        self, *, thresholds: MetricThresholds, service_account: re.Pattern[str], actor: str
    ) -> None:
        self.thresholds, self.service_account, self.actor = thresholds, service_account, actor
        self._mirrors: dict[str, Mirror] = {}
        self._cursors: dict[str, datetime] = {}

    def plan(self, seen: Seen, region: RegionView, now: datetime, correlation_id: str) -> Plan:
        known = self._known_mirror(seen.dto)
        metrics = None if known is None else self.metrics(seen, region, now, correlation_id, known)
        return Plan(
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

    def saved(self, plan: Plan) -> None:
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

    def metrics(
        self, seen: Seen, region: RegionView, now: datetime, correlation_id: str, mirror: Mirror
    ) -> MetricsStep | None:
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

    def _known_mirror(self, dto: CMLWorkerDto) -> Mirror | None:
        """The worker's recorded telemetry if known without the store, else ``None``."""
        mirror = self._mirrors.get(dto.id)
        if mirror is None and dto.metrics_recorded_at is None:
            return Mirror(Telemetry(), None)  # never recorded
        if mirror is None or rfc3339(mirror.recorded_at) != dto.metrics_recorded_at:
            return None  # unknown, or changed by someone else
        return mirror

    def _observation(
        self, seen: Seen, now: datetime, correlation_id: str
    ) -> ObserveInstance | None:
        """What to record of the instance and service, compared with the DTO. A stop
        or start nobody here asked for is recorded as external (``at``)."""
        dto, info = seen.dto, seen.info
        status = None
        if seen.ec2_known:
            status = status_to_record(WorkerStatus(dto.status), info.state if info else None)
        service = seen.service()
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

    def _license(self, seen: Seen, correlation_id: str) -> ObserveLicenseStatus | None:
        """Passive license sync: the status CML reports, when the license's own rule
        says it is news (it changed, and no license operation of ours is in progress)."""
        if seen.probe is None:
            return None
        licensing = seen.probe.licensing
        status = license_status_of(licensing)
        if not License(LicenseStatus(seen.dto.license_status)).observation_matters(status):
            return None
        return ObserveLicenseStatus(
            worker_id=UUID(seen.dto.id),
            actor=self.actor,
            correlation_id=correlation_id,
            status=status,
            detail=licensing.failure if status is LicenseStatus.FAILED else None,
        )

    def _activity(self, seen: Seen, correlation_id: str) -> RecordActivity | None:
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


def _endpoint_moved(info: InstanceInfo, dto: CMLWorkerDto) -> bool:
    seen = (info.public_ip, info.private_ip, info.public_dns)
    return seen != (dto.public_ip, dto.private_ip, dto.public_dns)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
