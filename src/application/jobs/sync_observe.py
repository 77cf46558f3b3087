"""A worker's turn in a metrics cycle, step 1: observe it. What EC2 says of its
instance (from the region's answers) and, when it runs and has an address, what its
CML says (one probe, under the worker's back-off). Nothing here is recorded."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from application.cloud import InstanceInfo
from application.cml import CmlLab, CmlPort
from application.dto import CMLWorkerDto
from application.jobs.backoff import Backoff
from application.jobs.lab_watch import LabWatch
from application.jobs.observe import host_of, service_status_of
from application.jobs.ports import UtilizationSample
from application.jobs.probe import CmlProbe, failure_detail, probe_cml
from application.jobs.region import RegionView
from application.mapper import prefer, round_percent
from application.ports_errors import CmlError
from domain.status import ServiceStatus, WorkerStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seen:
    """One worker's observation in this cycle."""

    dto: CMLWorkerDto
    info: InstanceInfo | None
    ec2_known: bool
    running: bool | None
    probe: CmlProbe | None = None
    failure: str | None = None
    backed_off: bool = False

    @property
    def labs(self) -> tuple[CmlLab, ...] | None:
        """The worker's labs as seen now: none when EC2 says it is not running,
        ``None`` when this cycle did not look (backed off, failed, EC2 mute)."""
        if self.probe is not None:
            return self.probe.labs
        return () if self.ec2_known and self.running is False else None

    def service(self) -> tuple[ServiceStatus, str | None] | None:
        """The service status seen, or ``None`` when this cycle says nothing about it
        (backed off, no address yet, EC2 not answering)."""
        if self.probe is not None or self.failure is not None:
            return service_status_of("running", self.probe, self.failure)
        if self.ec2_known and not self.running:
            return service_status_of(self.info.state if self.info else None, None, None)
        return None


class Observer:
    """Observes workers: EC2 from the region's view, CML by a probe."""

    def __init__(
        self, cml: CmlPort, backoff: Backoff, worker_timeout: float, labs: LabWatch
    ) -> None:
        self.cml, self.backoff, self.worker_timeout = cml, backoff, worker_timeout
        self.labs = labs

    async def observe(self, dto: CMLWorkerDto, region: RegionView, now: datetime) -> Seen:
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
            if running is False:
                self.labs.forget(dto.id)
            return Seen(dto, info, known, running)
        if not self.backoff.ready(dto.id, now):
            return Seen(dto, info, known, running, backed_off=True)
        try:
            async with asyncio.timeout(self.worker_timeout):
                look = partial(self.labs.look, self.cml, host, dto.id)
                probe = await probe_cml(self.cml, host, look)
        except (CmlError, TimeoutError) as error:
            self.backoff.failed(dto.id, now)
            return Seen(dto, info, known, running, failure=failure_detail(error))
        except Exception as error:  # bulkhead: an adapter's bug stays with this worker
            if self.backoff.failures(dto.id) == 0:
                log.error("CML probe of worker %s failed unexpectedly", dto.id, exc_info=True)
            self.backoff.failed(dto.id, now)
            return Seen(dto, info, known, running, failure=failure_detail(error))
        self.backoff.succeeded(dto.id)
        return Seen(dto, info, known, running, probe=probe)


def sample_of(seen: Seen, region: RegionView, now: datetime) -> UtilizationSample | None:
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
