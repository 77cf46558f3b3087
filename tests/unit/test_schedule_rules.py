"""The scheduler's decision for one worker, over simulated weeks on a fake clock: up
before class, down after it, labs in use respected for the grace time, overrides and
keep-alives expiring, the daylight-saving week, a schedule changed during a period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.schedule_rules import WorkerNow, decide
from domain.schedules import DatedException, Period, Schedule, parse_days
from domain.status import WorkerStatus as S

AMS = ZoneInfo("Europe/Amsterdam")
STEP = timedelta(minutes=5)  # every boundary in these tests is on a 5-minute mark


def office(**more: object) -> Schedule:
    weekdays = Period(parse_days("mon-fri"), time(8), time(18))
    return Schedule("office", "Europe/Amsterdam", (weekdays,), **more)  # type: ignore[arg-type]


class Worker:
    """A worker that does what the scheduler asks at once, logging when."""

    def __init__(self, status: S = S.STOPPED) -> None:
        self.now = WorkerNow(status)
        self.actions: list[tuple[datetime, str]] = []

    def run(self, schedule: Schedule, start: datetime, end: datetime, in_use=lambda t: False):
        t = start
        while t < end:
            self.now = replace(self.now, in_use=in_use(t))
            decision = decide(schedule, self.now, t)
            if decision.action is not None:
                self.actions.append((t.astimezone(AMS), decision.action))
                up = decision.action in ("start", "resume")
                paused = decision.action == "pause"
                self.now = replace(self.now, status=S.RUNNING if up else S.STOPPED, paused=paused)
            t += STEP


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=AMS)  # type: ignore[misc]


def test_a_week_of_office_hours_starts_each_morning_ahead_and_stops_each_evening() -> None:
    worker = Worker()

    worker.run(office(lead_minutes=15), local(2026, 12, 6, 0, 0), local(2026, 12, 13, 0, 0))

    starts = [t for t, a in worker.actions if a == "start"]
    stops = [t for t, a in worker.actions if a == "stop"]
    assert [(t.day, t.time()) for t in starts] == [(d, time(7, 45)) for d in range(7, 12)]
    assert [(t.day, t.time()) for t in stops] == [(d, time(18, 0)) for d in range(7, 12)]


def test_off_means_pause_when_the_schedule_says_so_and_a_paused_worker_is_resumed() -> None:
    worker = Worker()

    worker.run(office(off="pause", lead_minutes=0), local(2026, 12, 7, 0), local(2026, 12, 9, 0))

    assert [a for _, a in worker.actions] == ["start", "pause", "resume", "pause"]


def test_a_lab_in_use_delays_the_stop_until_it_ends_or_the_grace_time_is_over() -> None:
    monday_class_runs_late = lambda t: local(2026, 12, 7, 18) <= t < local(2026, 12, 7, 18, 20)  # noqa: E731
    tuesday_never_ends = lambda t: t >= local(2026, 12, 8, 17)  # noqa: E731
    worker = Worker()

    worker.run(
        office(grace_minutes=30),
        local(2026, 12, 7, 0),
        local(2026, 12, 9, 0),
        in_use=lambda t: monday_class_runs_late(t) or tuesday_never_ends(t),
    )

    stops = [t for t, a in worker.actions if a == "stop"]
    assert stops == [local(2026, 12, 7, 18, 20), local(2026, 12, 8, 18, 30)]


def test_an_override_keeps_it_running_until_it_expires() -> None:
    worker = Worker(S.RUNNING)
    worker.now = replace(worker.now, override_until=local(2026, 12, 7, 21).astimezone(UTC))

    worker.run(office(), local(2026, 12, 7, 17), local(2026, 12, 7, 23))

    assert worker.actions == [(local(2026, 12, 7, 21), "stop")]


def test_a_manual_start_outside_hours_gets_its_keep_alive_then_goes_down() -> None:
    worker = Worker(S.RUNNING)  # started by hand on Saturday at 10:20
    worker.now = replace(worker.now, up_since=local(2026, 12, 12, 10, 20).astimezone(UTC))

    worker.run(office(keep_alive_minutes=90), local(2026, 12, 12, 10, 20), local(2026, 12, 12, 14))

    assert worker.actions == [(local(2026, 12, 12, 11, 50), "stop")]


def test_a_worker_up_since_before_the_hours_ended_gets_no_keep_alive() -> None:
    worker = Worker(S.RUNNING)  # came up in the morning, within hours
    worker.now = replace(worker.now, up_since=local(2026, 12, 7, 7, 45).astimezone(UTC))

    worker.run(office(keep_alive_minutes=90), local(2026, 12, 7, 17), local(2026, 12, 7, 20))

    assert worker.actions == [(local(2026, 12, 7, 18), "stop")]


def test_a_start_by_hand_the_evening_after_hours_is_kept_up_its_window() -> None:
    worker = Worker(S.RUNNING)  # stopped at 18:00, started again by hand at 19:00
    worker.now = replace(worker.now, up_since=local(2026, 12, 7, 19).astimezone(UTC))

    worker.run(office(), local(2026, 12, 7, 19), local(2026, 12, 7, 22))

    assert worker.actions == [(local(2026, 12, 7, 20), "stop")]  # the default hour


def test_the_daylight_saving_week_keeps_local_hours() -> None:
    worker = Worker()

    worker.run(office(lead_minutes=0), local(2026, 3, 26, 0), local(2026, 3, 31, 0))

    assert {(t.time(), a) for t, a in worker.actions} == {(time(8), "start"), (time(18), "stop")}
    assert len(worker.actions) == 6  # Thu, Fri, (weekend: the clocks change), Mon


def test_the_fall_back_week_keeps_local_hours_too() -> None:
    worker = Worker()

    worker.run(office(lead_minutes=0), local(2026, 10, 22, 0), local(2026, 10, 28, 0))

    assert {(t.time(), a) for t, a in worker.actions} == {(time(8), "start"), (time(18), "stop")}
    assert len(worker.actions) == 8  # Thu, Fri, (weekend: the clocks go back), Mon, Tue
    utc_starts = {t.astimezone(UTC).hour for t, a in worker.actions if a == "start"}
    assert utc_starts == {6, 7}  # 08:00 is 06:00 UTC in summer time, 07:00 after


def test_a_holiday_keeps_the_worker_down_and_an_evening_session_brings_it_up() -> None:
    schedule = office(
        lead_minutes=0,
        exceptions=(
            DatedException(local(2026, 12, 25).date()),
            DatedException(local(2026, 12, 26).date(), time(19), time(21)),
        ),
    )
    worker = Worker()

    worker.run(schedule, local(2026, 12, 25, 0), local(2026, 12, 27, 0))

    assert worker.actions == [(local(2026, 12, 26, 19), "start"), (local(2026, 12, 26, 21), "stop")]


def test_a_schedule_changed_during_a_period_takes_effect_at_once() -> None:
    worker = Worker(S.RUNNING)
    shorter = Schedule(
        "office", "Europe/Amsterdam", (Period(parse_days("mon-fri"), time(8), time(12)),)
    )

    worker.run(office(), local(2026, 12, 7, 10), local(2026, 12, 7, 11))  # within hours
    worker.run(shorter, local(2026, 12, 7, 11), local(2026, 12, 7, 14))  # now ends at noon

    assert worker.actions == [(local(2026, 12, 7, 12), "stop")]


def test_the_decision_says_when_to_look_again() -> None:
    friday = local(2026, 12, 4, 17)

    running = decide(office(), WorkerNow(S.RUNNING), friday)
    after = decide(office(lead_minutes=15), WorkerNow(S.STOPPED), local(2026, 12, 4, 19))

    assert running.action is None and running.look_again_at == local(2026, 12, 4, 18)
    assert after.action is None and after.look_again_at == local(2026, 12, 7, 7, 45)


def test_when_the_schedule_takes_an_up_worker_down() -> None:
    from domain.schedule_rules import down_at

    monday_5pm, evening = local(2026, 12, 7, 17), local(2026, 12, 7, 18)
    running = WorkerNow(S.RUNNING)
    back_soon = Schedule("office", "Europe/Amsterdam", (
        Period(parse_days("mon-fri"), time(8), time(18)),
        Period(parse_days("mon-fri"), time(18, 10), time(20)),
    ), lead_minutes=15)  # fmt: skip

    assert down_at(office(), running, monday_5pm) == evening
    assert down_at(office(), WorkerNow(S.STOPPED), monday_5pm) is None
    assert down_at(office(), running, local(2026, 12, 7, 19)) is None  # not in hours
    assert down_at(back_soon, running, monday_5pm) is None  # up again within the lead
    kept = replace(running, override_until=local(2026, 12, 7, 21))
    assert down_at(office(), kept, monday_5pm) is None
