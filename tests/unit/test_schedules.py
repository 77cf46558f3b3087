"""Office-hours schedules in their own time zone: weekly periods, a period across
midnight, holidays and one-off sessions, and the two daylight-saving days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidValue
from domain.schedules import DatedException, Period, Schedule, parse_days

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def office(zone: str = "Europe/Amsterdam", **more: object) -> Schedule:
    weekdays = Period(parse_days("mon-fri"), time(8), time(18))
    return Schedule("office", zone, (weekdays,), **more)  # type: ignore[arg-type]


def test_weekdays_in_office_hours_are_on_and_the_rest_off() -> None:
    s = office()

    assert s.is_on(local(AMS, 2026, 12, 7, 9, 0))  # Monday
    assert not s.is_on(local(AMS, 2026, 12, 7, 7, 59))
    assert not s.is_on(local(AMS, 2026, 12, 7, 18, 0))  # the end is not in
    assert not s.is_on(local(AMS, 2026, 12, 5, 12, 0))  # Saturday


def test_the_next_change_is_the_periods_end_then_its_next_start() -> None:
    s = office()

    friday_afternoon = local(AMS, 2026, 12, 4, 17, 0)
    assert s.next_change(friday_afternoon) == local(AMS, 2026, 12, 4, 18, 0)
    assert s.next_change(local(AMS, 2026, 12, 4, 18, 0)) == local(AMS, 2026, 12, 7, 8, 0)


def test_a_period_across_midnight_ends_the_next_day() -> None:
    late = Period(parse_days("fri"), time(22), time(2))
    s = Schedule("late-lab", "Europe/Amsterdam", (late,))

    assert s.is_on(local(AMS, 2026, 12, 5, 1, 30))  # Saturday, from Friday's period
    assert not s.is_on(local(AMS, 2026, 12, 5, 2, 0))
    assert s.current_span(local(AMS, 2026, 12, 4, 23, 0)) == (
        local(AMS, 2026, 12, 4, 22, 0).astimezone(UTC),
        local(AMS, 2026, 12, 5, 2, 0).astimezone(UTC),
    )


def test_a_holiday_closes_the_day_and_a_one_off_session_opens_another() -> None:
    s = office(
        exceptions=(
            DatedException(date(2026, 12, 25)),  # Friday, Christmas
            DatedException(date(2026, 12, 19), time(18), time(21)),  # a Saturday evening
        )
    )

    assert not s.is_on(local(AMS, 2026, 12, 25, 10, 0))
    assert s.is_on(local(AMS, 2026, 12, 24, 10, 0))
    assert s.is_on(local(AMS, 2026, 12, 19, 20, 0))
    assert not s.is_on(local(AMS, 2026, 12, 19, 21, 0))


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Amsterdam", date(2026, 3, 29), 3),  # spring forward: 02:00 → 03:00
        ("Europe/Amsterdam", date(2026, 10, 25), 5),  # fall back: 03:00 → 02:00
        ("America/New_York", date(2026, 3, 8), 3),
        ("America/New_York", date(2026, 11, 1), 5),
    ],
)
def test_a_night_period_on_a_daylight_saving_day_lasts_as_long_as_the_clocks_say(
    zone: str, day: date, hours: int
) -> None:
    night = Period(frozenset({day.weekday()}), time(1), time(5))
    s = Schedule("night", zone, (night,))

    (start, end), *_ = s.spans(
        datetime.combine(day, time(0), ZoneInfo(zone)),
        datetime.combine(day, time(12), ZoneInfo(zone)),
    )

    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ZoneInfo(zone)).time() == time(1)
    assert end.astimezone(ZoneInfo(zone)).time() == time(5)


def test_office_hours_keep_their_local_times_across_the_change() -> None:
    s = office()
    before = s.current_span(local(AMS, 2026, 3, 27, 12, 0))  # Friday, CET (+01:00)
    after = s.current_span(local(AMS, 2026, 3, 30, 12, 0))  # Monday, CEST (+02:00)

    assert before is not None and after is not None
    assert before[0].hour == 7 and after[0].hour == 6  # 08:00 local, in UTC
    assert [t.astimezone(AMS).hour for t in (*before, *after)] == [8, 18, 8, 18]


def test_a_start_in_the_spring_forward_gap_begins_after_it() -> None:
    s = Schedule("gap", "Europe/Amsterdam", (Period(frozenset({6}), time(2, 30), time(4)),))

    span = s.current_span(local(AMS, 2026, 3, 29, 3, 45))

    assert span is not None and span[0].astimezone(AMS).time() == time(3, 30)


def test_a_time_that_happens_twice_is_the_first_of_the_two() -> None:
    s = Schedule("twice", "Europe/Amsterdam", (Period(frozenset({6}), time(2, 30), time(6)),))

    span = s.current_span(local(AMS, 2026, 10, 25, 4, 0))

    assert span is not None and span[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # +02:00


def test_a_period_that_ends_when_it_starts_lasts_a_whole_day() -> None:
    s = Schedule("day", "Europe/Amsterdam", (Period(parse_days("mon"), time(8), time(8)),))

    span = s.current_span(local(AMS, 2026, 12, 7, 20, 0))

    assert span is not None and span[1] - span[0] == timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "days"),
    [("mon-fri", {0, 1, 2, 3, 4}), ("sat,sun", {5, 6}), ("fri-mon", {4, 5, 6, 0}), ("WED", {2})],
)
def test_days_are_read_as_people_write_them(text: str, days: set[int]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize(
    "build",
    [
        lambda: parse_days("monday"),
        lambda: parse_days(""),
        lambda: Schedule("office", "Mars/Olympus", ()),
        lambda: Schedule("office", "America", ()),  # a folder of zones, not a zone
        lambda: Schedule("office", "../../etc/passwd", ()),
        lambda: Schedule("Office Hours", "UTC", ()),
        lambda: Schedule("office", "UTC", (), off="hibernate"),  # type: ignore[arg-type]
        lambda: Schedule("office", "UTC", (), lead_minutes=-1),
        lambda: Period(frozenset(), time(8), time(9)),
        lambda: DatedException(date(2026, 1, 1), time(8), None),
    ],
)
def test_bad_schedules_are_refused_saying_what_is_wrong(build: object) -> None:
    with pytest.raises(InvalidValue):
        build()  # type: ignore[operator]
