"""The idle detection job: pause running workers nobody has used for a while.

A cycle reads the fleet from the read model, where each running, watched worker
already carries its countdown (``auto_pause_due_at``, from the metrics job's
activity and the worker's own timeout, resume and start times). Only the workers
whose pause is due cost more than a comparison: CML is asked once more (telemetry
events newer than the last seen, labs with running nodes), anything new is recorded
as activity, and the pause is decided by the worker itself on its state at that
moment (``PauseIdleWorker``), so activity recorded meanwhile is never overlooked.

Workers with running labs (a configurable signal) have that recorded as activity
every few minutes, so their countdown shows it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from application.cml import CmlLab, CmlPort
from application.commands.idle import PauseIdleWorker, pause_idle_worker
from application.commands.observations import RecordActivity, record_activity
from application.dto import CMLWorkerDto
from application.errors import ApplicationError
from application.jobs.idle_rules import IdleRules, labs_running
from application.jobs.moment import At
from application.jobs.notices import Notices, Warning
from application.jobs.observe import activity_in, host_of
from application.jobs.ports import FleetView
from application.labs import LabStore
from application.mapper import rfc3339
from application.ports import RunSync, WorkerStore
from application.ports_errors import CmlError
from domain.errors import DomainError
from domain.values import ActivityRecord

_Step = Callable[[CMLWorkerDto], Awaitable["_Outcome"]]


@dataclass(frozen=True)
class IdleJobConfig:
    """The job's knobs (built from settings by the composition root)."""

    enabled: bool = True
    timeout: timedelta = timedelta(minutes=60)
    snooze: timedelta = timedelta(minutes=30)
    running_labs_signal: bool = True
    activity_refresh: timedelta = timedelta(minutes=10)
    check_before_pause: bool = True
    service_account_pattern: str = "^cml-fleet$"
    concurrency: int = 32
    cml_timeout: float = 30.0
    actor: str = "job:idle"


@dataclass(frozen=True)
class IdleReport:
    """What one cycle did."""

    correlation_id: str
    at: datetime
    workers: int
    watched: int
    due: int
    checked: int
    activity_recorded: int
    paused: int
    paused_workers: tuple[str, ...]
    failures: int
    warned: int
    """Workers whose CML users were told of the coming pause (system notices)."""
    duration_seconds: float


@dataclass(frozen=True)
class _Outcome:
    checked: bool = False
    activity: int = 0
    paused: bool = False
    failed: bool = False


class IdleJob:
    def __init__(
        self,
        *,
        store: WorkerStore,
        read_model: FleetView,
        cml: CmlPort,
        run_sync: RunSync,
        config: IdleJobConfig | None = None,
        labs: LabStore | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.config = config or IdleJobConfig()
        self.notices = notices
        self.labs = labs
        self.store, self.read_model, self.cml, self.run_sync = store, read_model, cml, run_sync
        self.rules = IdleRules(
            enabled=self.config.enabled,
            running_labs_signal=self.config.running_labs_signal,
            activity_refresh=self.config.activity_refresh,
        )
        self.service_account = re.compile(self.config.service_account_pattern)

    async def run(self, now: datetime) -> IdleReport:
        """One cycle at ``now``."""
        started = time.perf_counter()
        correlation_id = f"idle-{uuid4()}"
        workers = await self.run_sync(self.read_model.all_workers)
        watched = [w for w in workers if self.rules.watched(w)]
        busy = [w for w in watched if self.rules.labs_activity_due(w, now)]
        due = [w for w in watched if self.rules.pause_due(w, now)]  # never a busy one
        outcomes = await self._each(busy, lambda w: self._note_labs(w, now, correlation_id))
        outcomes += await self._each(due, lambda w: self._pause_if_idle(w, now, correlation_id))
        warned = await self._warn([w for w in watched if w not in due], now, correlation_id)
        paused = tuple(w.id for w, o in zip([*busy, *due], outcomes, strict=True) if o.paused)
        return IdleReport(
            correlation_id=correlation_id,
            at=now,
            workers=len(workers),
            watched=len(watched),
            due=len(due),
            checked=sum(o.checked for o in outcomes),
            activity_recorded=sum(o.activity for o in outcomes),
            paused=len(paused),
            paused_workers=paused,
            failures=sum(o.failed for o in outcomes),
            warned=warned,
            duration_seconds=time.perf_counter() - started,
        )

    async def _each(self, workers: Sequence[CMLWorkerDto], one: _Step) -> list[_Outcome]:
        limit = asyncio.Semaphore(max(1, self.config.concurrency))

        async def bounded(dto: CMLWorkerDto) -> _Outcome:
            async with limit:
                try:
                    return await one(dto)
                except (ApplicationError, DomainError):
                    return _Outcome(failed=True)  # changed meanwhile; next cycle decides

        return list(await asyncio.gather(*(bounded(w) for w in workers)))

    async def _warn(
        self, watched: Sequence[CMLWorkerDto], now: datetime, correlation_id: str
    ) -> int:
        """Tell the users of workers whose idle pause comes within the notice time."""
        notices = self.notices
        if notices is None:
            return 0
        due = [(w, _moment(w.auto_pause_due_at)) for w in watched]
        warn = [(w, at) for w, at in due if at is not None and notices.due(w, at, now)]
        limit = asyncio.Semaphore(max(1, self.config.concurrency))

        async def one(dto: CMLWorkerDto, at: datetime) -> bool:
            label = f"This idle worker is paused at {at:%H:%M} UTC"
            content = ("Nobody has used it for a while, so cml-fleet pauses it to save money. "
                       "Use it (start or edit a lab) to keep it running.")  # fmt: skip
            async with limit:
                return await notices.warn(dto, at, Warning(label, content, "pause"),
                                          self.config.actor, correlation_id, now)  # fmt: skip

        return sum(await asyncio.gather(*(one(w, at) for w, at in warn)))

    async def _note_labs(self, dto: CMLWorkerDto, now: datetime, correlation_id: str) -> _Outcome:
        """Running labs count as activity: recorded every few minutes, not every cycle."""
        record = labs_running(now, dto.running_nodes_count or 0)
        command = self._activity(dto, (record,), None, correlation_id)
        result = await self.run_sync(record_activity, command, self.store)
        return _Outcome(activity=int(result.changed))

    async def _pause_if_idle(
        self, dto: CMLWorkerDto, now: datetime, correlation_id: str
    ) -> _Outcome:
        checked, activity, failed = False, 0, False
        host = host_of(dto.public_dns, dto.public_ip, dto.private_ip)
        if self.config.check_before_pause and host is not None:
            try:
                activity = await self._look_again(dto, host, now, correlation_id)
                checked = True
            except (CmlError, TimeoutError):
                failed = True  # what the metrics job saw last decides
        command = PauseIdleWorker(
            UUID(dto.id),
            self.config.actor,
            correlation_id,
            default_timeout=self.config.timeout,
            snooze=self.config.snooze,
        )
        result = await self.run_sync(pause_idle_worker, command, self.store, At(now))
        return _Outcome(checked=checked, activity=activity, paused=result.changed, failed=failed)

    async def _look_again(
        self, dto: CMLWorkerDto, host: str, now: datetime, correlation_id: str
    ) -> int:
        """Ask CML what happened since the last look; record it. Returns 1 if anything."""
        async with asyncio.timeout(self.config.cml_timeout):
            events, labs = await asyncio.gather(
                self.cml.telemetry_events(host), self._labs(dto.id, host)
            )
        after = datetime.fromisoformat(dto.last_activity_at) if dto.last_activity_at else None
        records = activity_in(events, after, self.service_account)
        running_nodes = sum(lab.running_nodes or 0 for lab in labs if lab.state == "STARTED")
        if self.config.running_labs_signal and running_nodes > 0:
            records = (*records, labs_running(now, running_nodes))
        if not records:
            return 0
        newest = max(e.timestamp for e in events) if events else None
        command = self._activity(dto, records, rfc3339(newest), correlation_id)
        result = await self.run_sync(record_activity, command, self.store)
        return int(result.changed)

    async def _labs(self, worker_id: str, host: str) -> tuple[CmlLab, ...]:
        """The worker's labs as the metrics job last saw them (no call to CML: a lab
        started since shows in the telemetry just read); from CML without the rows."""
        if self.labs is None:
            return await self.cml.labs(host)
        rows = await self.run_sync(self.labs.labs_of, worker_id)
        return tuple(row.lab for row in rows)

    def _activity(
        self,
        dto: CMLWorkerDto,
        records: Sequence[ActivityRecord],
        cursor: str | None,
        correlation_id: str,
    ) -> RecordActivity:
        return RecordActivity(
            UUID(dto.id), self.config.actor, correlation_id, records=records, cursor=cursor
        )


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
