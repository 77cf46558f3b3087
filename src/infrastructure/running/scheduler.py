"""The job scheduler: APScheduler's ``AsyncIOScheduler`` in the app process.

Each job is an async function that runs one cycle. APScheduler only says *when*;
this module runs the cycle as its own task, so a job never overlaps itself (a tick
that finds the previous run still going is skipped), "run now" from the admin API
shares the same guard, and ``stop`` cancels what is running. Per job it keeps the
last run, its duration, its error and its result, and the next run time.

With ``scheduler_enabled`` off nothing runs on a timer, but jobs can still be run
by hand. With several processes only one may run the scheduler (see DESIGN §5).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from application.ports import Clock

if TYPE_CHECKING:
    from infrastructure.shared.settings import Settings

log = logging.getLogger(__name__)
JobFunction = Callable[[], Awaitable[object]]


class UnknownJob(LookupError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id}")


class JobAlreadyRunning(RuntimeError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} is already running")


@dataclass
class _Job:
    id: str
    name: str
    interval_seconds: float
    function: JobFunction
    runs: int = 0
    failures: int = 0
    failing: int = 0
    skipped: int = 0
    last_run_at: datetime | None = None
    last_duration_seconds: float | None = None
    last_error: str | None = None
    last_result: object = None
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class JobInfo:
    """A job as the admin API shows it."""

    id: str
    name: str
    interval_seconds: float
    scheduled: bool
    running: bool
    runs: int
    failures: int
    failing: int
    """Runs in a row that failed (0: the last one succeeded)."""
    skipped: int
    last_run_at: datetime | None
    last_duration_seconds: float | None
    last_error: str | None
    next_run_at: datetime | None
    last_result: object


class FleetScheduler:
    """Runs registered jobs on intervals (when enabled) and on demand."""

    def __init__(
        self, clock: Clock, *, enabled: bool = True, misfire_grace_seconds: int = 60
    ) -> None:
        self.clock = clock
        self.enabled = enabled
        self.misfire_grace_seconds = misfire_grace_seconds
        self._jobs: dict[str, _Job] = {}
        self._aps: AsyncIOScheduler | None = None

    def add_job(
        self, job_id: str, name: str, function: JobFunction, interval_seconds: float
    ) -> None:
        """Register a job; it runs every ``interval_seconds``, first at start-up."""
        self._jobs[job_id] = _Job(job_id, name, interval_seconds, function)
        if self._aps is not None:
            self._schedule(self._jobs[job_id])

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the timers (needs the running event loop)."""
        if not self.enabled or self._aps is not None:
            return
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.misfire_grace_seconds,
            },
        )
        # APScheduler logs two lines per tick at INFO; the admin API tells how runs went.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        for job in self._jobs.values():
            self._schedule(job)
        self._aps.start()

    def _schedule(self, job: _Job) -> None:
        assert self._aps is not None
        self._aps.add_job(
            self._tick,
            "interval",
            seconds=job.interval_seconds,
            args=[job.id],
            id=job.id,
            name=job.name,
            next_run_time=datetime.now(UTC),  # first run at start-up
            replace_existing=True,
        )

    async def stop(self) -> None:
        """Stop the timers and cancel running jobs; returns once they have ended."""
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        tasks = [j.task for j in self._jobs.values() if j.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ runs

    async def _tick(self, job_id: str) -> None:
        """APScheduler's callback: start a run unless one is going on."""
        job = self._jobs[job_id]
        if job.task is not None:
            job.skipped += 1
            log.info("job %s: previous run still going, tick skipped", job_id)
            return
        self._launch(job)

    def trigger(self, job_id: str) -> JobInfo:
        """Start a run now, in the background."""
        job = self._job(job_id)
        if job.task is not None:
            raise JobAlreadyRunning(job_id)
        self._launch(job)
        return self.info(job_id)

    async def run_now(self, job_id: str) -> JobInfo:
        """Run now and return once the run has ended."""
        job = self._job(job_id)
        if job.task is not None:
            raise JobAlreadyRunning(job_id)
        task = self._launch(job)
        await asyncio.shield(task)
        return self.info(job_id)

    def _launch(self, job: _Job) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._run(job), name=f"job:{job.id}")
        job.task = task
        return task

    async def _run(self, job: _Job) -> None:
        job.last_run_at = self.clock.now()
        started = time.perf_counter()
        try:
            job.last_result = await job.function()
            job.last_error = None
            job.failing = 0
        except Exception as error:  # a failing cycle must not kill the schedule
            job.failures += 1
            job.failing += 1
            job.last_error = f"{type(error).__name__}: {error}"
            log.exception("job %s failed", job.id)
        finally:
            job.runs += 1
            job.last_duration_seconds = time.perf_counter() - started
            job.task = None

    # --------------------------------------------------------------- reading

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(job_id)
        return job

    def info(self, job_id: str) -> JobInfo:
        job = self._job(job_id)
        planned = self._aps.get_job(job_id) if self._aps is not None else None
        return JobInfo(
            **{f.name: getattr(job, f.name) for f in fields(JobInfo) if hasattr(job, f.name)},
            scheduled=planned is not None,
            running=job.task is not None,
            next_run_at=getattr(planned, "next_run_time", None),
        )

    def jobs(self) -> tuple[JobInfo, ...]:
        return tuple(self.info(job_id) for job_id in sorted(self._jobs))


def build_scheduler(clock: Clock, settings: Settings) -> FleetScheduler:
    """The scheduler, without jobs (``bootstrap`` registers them, all in one place)."""
    return FleetScheduler(
        clock,
        enabled=settings.scheduler_enabled,
        misfire_grace_seconds=settings.job_misfire_grace_seconds,
    )
