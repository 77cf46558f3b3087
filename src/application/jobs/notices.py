"""Warning a worker's CML users before it goes down: a system notice on the worker
(``CmlPort.post_notice``) ``minutes`` before an idle pause or its schedule's stop, then
``worker.notice.posted`` in its history. Once per time it goes down (the worker
remembers ``notice_down_at``); a CML that does not answer is not warned and is not
stopped for it, and no failure here stops the job for other workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from application.cml import CmlPort
from application.commands.settings import RecordNotice, record_notice
from application.dto import CMLWorkerDto
from application.errors import ApplicationError
from application.jobs.observe import host_of
from application.mapper import rfc3339
from application.ports import RunSync, WorkerStore
from application.ports_errors import CmlError
from domain.errors import DomainError

ANSWERING = frozenset({"reachable", "ready"})


@dataclass(frozen=True)
class Warning:
    label: str
    content: str
    action: str


class Notices:
    def __init__(
        self, *, store: WorkerStore, cml: CmlPort, run_sync: RunSync, minutes: float
    ) -> None:
        self.store, self.cml, self.run_sync = store, cml, run_sync
        self.ahead = timedelta(minutes=minutes)

    def due(self, dto: CMLWorkerDto, down_at: datetime | None, now: datetime) -> bool:
        """Whether its users are to be warned now that it goes down at ``down_at``."""
        if down_at is None or self.ahead <= timedelta(0) or not now < down_at:
            return False
        if now < down_at - self.ahead or dto.notice_down_at == rfc3339(down_at):
            return False
        return dto.service_status in ANSWERING and _host(dto) is not None

    async def warn(
        self,
        dto: CMLWorkerDto,
        down_at: datetime,
        warning: Warning,
        actor: str,
        correlation: str,
        now: datetime,
    ) -> bool:
        """Post the notice and record it (with how long ahead, from ``now``); whether
        both were done."""
        host = _host(dto)
        assert host is not None
        try:
            notice_id = await self.cml.post_notice(host, warning.label, warning.content)
        except (CmlError, TimeoutError):
            return False  # not warned: the next cycle tries again while there is time
        lead = max(0, round((down_at - now).total_seconds() / 60))
        command = RecordNotice(UUID(dto.id), actor, correlation, action=warning.action,
                               down_at=down_at, notice_id=notice_id, lead_minutes=lead)  # fmt: skip
        try:
            await self.run_sync(record_notice, command, self.store)
        except (DomainError, ApplicationError):
            return False
        return True


def _host(dto: CMLWorkerDto) -> str | None:
    return host_of(dto.public_dns, dto.public_ip, dto.private_ip)
