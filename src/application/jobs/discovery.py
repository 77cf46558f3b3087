"""Discovery: take EC2 instances that look like CML workers under management.

Instances matching the configured filters (AMI ids, AMI name patterns, tags; per
region) that no worker knows are imported; workers whose instance EC2 no longer has
(or reports terminated) are recorded as terminated. An imported worker's id is derived
from its instance, so two discoveries racing (two processes, a timer and a click)
import it once: the second save is refused as a duplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from application.cloud import CloudPort, InstanceInfo
from application.commands.admission import ImportRequest, admit
from application.commands.lifecycle import import_worker
from application.commands.outcomes import RecordTermination, record_termination
from application.dto import CMLWorkerDto, doc
from application.errors import InstanceAlreadyManaged
from application.jobs.observe import status_to_record, why_ended
from application.jobs.ports import FleetView
from application.ports import RunSync, WorkerStore
from application.ports_errors import CloudError
from domain.status import WorkerStatus

LIVE_STATES = ("pending", "running", "stopping", "stopped")
IMAGE_IDS_PER_CALL = 200  # values one EC2 filter accepts


@dataclass(frozen=True)
class DiscoveryConfig:
    regions: tuple[str, ...] = ()
    """Regions to scan; empty: ``default_regions`` plus the regions of known workers."""
    ami_ids: tuple[str, ...] = ()
    """AMI id patterns (``*`` wildcards); empty: any AMI (unless ``ami_name_patterns``)."""
    ami_name_patterns: tuple[str, ...] = ()
    """AMI name patterns (``*`` wildcards), resolved to ids per region; the AMIs
    matching these or ``ami_ids`` count. Empty: no name filter."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tag key to value pattern; every one must match."""
    default_regions: tuple[str, ...] = ()
    actor: str = "job:discovery"

    def filters(self) -> dict[str, list[str]]:
        """The EC2 ``DescribeInstances`` filters these settings mean (the name patterns
        aside: they need an image lookup first, see :meth:`Discovery._matching`)."""
        found = {"instance-state-name": list(LIVE_STATES)}
        if self.ami_ids:
            found["image-id"] = list(self.ami_ids)
        for key, pattern in self.tags.items():
            found[f"tag:{key}"] = [pattern]
        return found


@dataclass(frozen=True)
class DiscoveryReport:
    """What one discovery did, as counts."""

    correlation_id: str = field(metadata=doc("Correlation id on the events it recorded."))
    at: datetime = field(metadata=doc("When it ran."))
    regions: tuple[str, ...] = field(metadata=doc("Regions scanned."))
    matched: int = field(metadata=doc("Instances matching the filters."))
    imported: int = field(metadata=doc("Of those, taken under management now."))
    already_known: int = field(metadata=doc("Of those, already workers (skipped)."))
    terminated: int = field(
        metadata=doc("Known workers whose instance is gone, recorded as terminated.")
    )
    failed_regions: tuple[str, ...] = field(metadata=doc("Regions EC2 did not answer for."))
    duration_seconds: float = field(metadata=doc("How long it took."))


@dataclass(frozen=True)
class _RegionResult:
    matched: int = 0
    imported: int = 0
    known: int = 0
    terminated: int = 0
    failed: bool = False


class Discovery:
    """One run at a time in this process (a lock); the derived ids cover the rest."""

    def __init__(
        self,
        *,
        store: WorkerStore,
        read_model: FleetView,
        cloud: CloudPort,
        run_sync: RunSync,
        config: DiscoveryConfig | None = None,
    ) -> None:
        self.store, self.read_model, self.cloud, self.run_sync = store, read_model, cloud, run_sync
        self.config = config or DiscoveryConfig()
        self._lock = asyncio.Lock()

    async def run(self, now: datetime) -> DiscoveryReport:
        async with self._lock:
            started = time.perf_counter()
            correlation_id = f"discovery-{uuid4()}"
            known = await self.run_sync(self.read_model.all_workers, True)
            regions = self._regions(known)
            results = await asyncio.gather(
                *(self._region(r, known, correlation_id) for r in regions)
            )
            return DiscoveryReport(
                correlation_id=correlation_id,
                at=now,
                regions=regions,
                matched=sum(r.matched for r in results),
                imported=sum(r.imported for r in results),
                already_known=sum(r.known for r in results),
                terminated=sum(r.terminated for r in results),
                failed_regions=tuple(g for g, r in zip(regions, results, strict=True) if r.failed),
                duration_seconds=time.perf_counter() - started,
            )

    def _regions(self, known: Sequence[CMLWorkerDto]) -> tuple[str, ...]:
        if self.config.regions:
            return self.config.regions
        return tuple(sorted({*self.config.default_regions, *(w.region for w in known)}))

    async def _region(
        self, region: str, known: Sequence[CMLWorkerDto], correlation_id: str
    ) -> _RegionResult:
        mine = [w for w in known if w.region == region and w.instance_id is not None]
        try:
            found = await self._matching(region)
            ids = _instance_ids(mine, live_only=True)
            alive = await self.cloud.describe_instances(region, ids) if ids else ()
        except CloudError:
            return _RegionResult(failed=True)
        instance_ids = set(_instance_ids(mine, live_only=False))
        new = [i for i in found if i.instance_id not in instance_ids]
        imported = await self.run_sync(self._import, new, known, correlation_id)
        gone = _gone(mine, {i.instance_id: i for i in alive})
        await self.run_sync(self._terminate, gone, correlation_id)
        return _RegionResult(
            matched=len(found),
            imported=imported,
            known=len(found) - imported,
            terminated=len(gone),
        )

    async def _matching(self, region: str) -> tuple[InstanceInfo, ...]:
        """The live instances of ``region`` matching the filters."""
        config = self.config
        if not config.ami_name_patterns:
            return await self.cloud.describe_instances(region, filters=config.filters())
        images = await self.cloud.image_ids(region, config.ami_name_patterns)
        amis = list(dict.fromkeys([*config.ami_ids, *images]))
        if not amis:
            return ()  # patterns set, no image matches them: no instance matches either
        # one EC2 filter takes so many values: more AMIs take more calls
        size = IMAGE_IDS_PER_CALL
        answers = await asyncio.gather(
            *(
                self.cloud.describe_instances(
                    region, filters={**config.filters(), "image-id": amis[i : i + size]}
                )
                for i in range(0, len(amis), size)
            )
        )
        unique = {info.instance_id: info for answer in answers for info in answer}
        return tuple(unique[k] for k in sorted(unique))

    def _import(
        self,
        instances: Sequence[InstanceInfo],
        known: Sequence[CMLWorkerDto],
        correlation_id: str,
    ) -> int:
        """Import through the same admission as an operator's import (no worker knows
        these instances, so each gets its first derived id)."""
        imported = 0
        for info in instances:
            request = ImportRequest(
                info.instance_id, info.region, self.config.actor, correlation_id
            )
            try:
                import_worker(admit(request, info, known), self.store)
            except InstanceAlreadyManaged:
                continue  # imported meanwhile by another discovery or an operator
            imported += 1
        return imported

    def _terminate(
        self, workers: Sequence[tuple[CMLWorkerDto, str | None]], correlation_id: str
    ) -> None:
        for dto, state in workers:
            reason = why_ended(dto.instance_id, dto.region, state)
            command = RecordTermination(UUID(dto.id), self.config.actor, correlation_id, reason)
            record_termination(command, self.store)


def _instance_ids(workers: Sequence[CMLWorkerDto], *, live_only: bool) -> list[str]:
    terminated = WorkerStatus.TERMINATED.value
    return [
        w.instance_id
        for w in workers
        if w.instance_id is not None and not (live_only and w.status == terminated)
    ]


def _gone(
    workers: Sequence[CMLWorkerDto], alive: Mapping[str, InstanceInfo]
) -> list[tuple[CMLWorkerDto, str | None]]:
    """Known workers whose instance EC2 reports terminated, or no longer has, with the
    state EC2 reported (``None``: not found)."""
    gone = []
    for dto in workers:
        info = alive.get(dto.instance_id or "")
        state = info.state if info else None
        if status_to_record(WorkerStatus(dto.status), state) is WorkerStatus.TERMINATED:
            gone.append((dto, state))
    return gone
