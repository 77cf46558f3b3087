"""What a schedule asks of one worker now: start it, stop or pause it, wait, or nothing.

Up: from ``lead_minutes`` before a period until its end, a stopped or paused worker is
started (resumed). Down: after a period, a running worker is stopped or paused as the
schedule says, unless an operator's override or a manual start's keep-alive still
holds, or a lab is in use (then it waits, and acts anyway once ``grace_minutes`` after
the period's end have passed). A worker that came up after the hours ended (started by
hand, or outside cml-fleet) is left up for ``keep_alive_minutes`` from then. Pure: the
scheduler job feeds it the worker and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from domain.schedules import Schedule
from domain.status import WorkerStatus

S = WorkerStatus
Action = Literal["start", "resume", "stop", "pause"]
UP = frozenset({S.RUNNING, S.STARTING, S.PROVISIONING, S.PENDING})
LOOK_BACK = timedelta(days=8)


@dataclass(frozen=True)
class WorkerNow:
    """What the decision needs to know of a worker."""

    status: WorkerStatus
    paused: bool = False
    """Stopped by a pause (then it is resumed, not started)."""
    in_use: bool = False
    """A lab with running nodes, or users active on its CML."""
    override_until: datetime | None = None
    """An operator said "keep it running until then"."""
    up_since: datetime | None = None
    """When it last came up (its status changed to starting or running)."""


@dataclass(frozen=True)
class Decision:
    action: Action | None
    why: str
    look_again_at: datetime | None = None
    """When the answer may change (the next boundary, or the end of the grace time)."""


def decide(schedule: Schedule, worker: WorkerNow, now: datetime) -> Decision:
    lead = timedelta(minutes=schedule.lead_minutes)
    following = schedule.next_change(now)
    if schedule.is_on(now) or schedule.is_on(now + lead):
        if worker.status is S.STOPPED:
            action: Action = "resume" if worker.paused else "start"
            return Decision(action, f"{schedule.name}: hours begin", following)
        return Decision(None, f"{schedule.name}: within hours", following)
    upcoming = None if following is None else following - lead
    if worker.status not in UP:
        return Decision(None, f"{schedule.name}: outside hours, already down", upcoming)
    ended = last_end(schedule, now)
    for until, what in (
        (worker.override_until, "kept running"),
        (keep_alive_until(schedule, worker, ended, now), "started outside hours, kept up"),
    ):
        if until is not None and now < until:
            return Decision(None, f"{schedule.name}: {what} until {until.isoformat()}", until)
    grace_over = ended + timedelta(minutes=schedule.grace_minutes) if ended else now
    if worker.in_use and now < grace_over:
        return Decision(None, f"{schedule.name}: hours over, a lab is in use", grace_over)
    why = "hours over" + (", grace time over although a lab is in use" if worker.in_use else "")
    return Decision(schedule.off, f"{schedule.name}: {why}", upcoming)


def down_at(schedule: Schedule, worker: WorkerNow, now: datetime) -> datetime | None:
    """When the schedule next takes this (up) worker down: the end of the on-time it is
    in, unless the next one starts within the lead time (it stays up) or an override
    holds past it. ``None``: not in hours, or not up."""
    if worker.status not in UP or not schedule.is_on(now):
        return None
    end = schedule.next_change(now)
    if end is None or schedule.is_on(end + timedelta(minutes=schedule.lead_minutes)):
        return None
    if worker.override_until is not None and worker.override_until > end:
        return None
    return end


def keep_alive_until(
    schedule: Schedule, worker: WorkerNow, ended: datetime | None, now: datetime
) -> datetime | None:
    """A worker that came up after the last on-time ended was started outside hours on
    purpose: it stays up ``keep_alive_minutes`` from then (``None``: no keep-alive)."""
    up = worker.up_since
    if up is None or up > now or (ended is not None and up <= ended):
        return None  # (a start after ``now`` is not one this decision can know of)
    return up + timedelta(minutes=schedule.keep_alive_minutes)


def last_end(schedule: Schedule, now: datetime) -> datetime | None:
    """When the schedule's most recent on-time ended (``None``: none in the last week)."""
    ends = [b for _, b in schedule.spans(now - LOOK_BACK, now) if b <= now]
    return ends[-1] if ends else None
