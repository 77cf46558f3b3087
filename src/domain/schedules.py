"""Office-hours schedules: when a worker should be up, in its schedule's own time zone.

A schedule has weekly periods (``Mon-Fri 08:00-18:00``; a period whose end is not after
its start runs past midnight into the next day), dated exceptions (a holiday closes a
day; a one-off session adds a period on a date) and what "off" means (stop or pause).
Local times become instants with the standard library's ``zoneinfo``: a start or end
that falls in a spring-forward gap is read with the offset before the gap (02:30 in a
gap from 02:00 to 03:00 is 03:30 after it); one that occurs twice in a fall-back hour
is the first of the two. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidValue

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_NAME = re.compile(NAME_PATTERN)
MAX_PERIODS = 50
MAX_EXCEPTIONS = 400
OffAction = Literal["stop", "pause"]


@dataclass(frozen=True)
class Period:
    """On from ``start`` to ``end`` (local) on each of ``days`` (0 Monday … 6 Sunday,
    the day it starts); ``end`` not after ``start``: it ends the next day (the same
    time: a whole day)."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise InvalidValue("periods", "a period needs days from mon to sun")

    def on(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants (UTC) this period covers when it starts on ``day``."""
        return _span(day, self.start, self.end, zone)


@dataclass(frozen=True)
class DatedException:
    """On ``day``: closed (``start`` and ``end`` unset: no period starts that day), or
    an extra period from ``start`` to ``end``."""

    day: date
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise InvalidValue("exceptions", "an extra period needs both start and end")

    @property
    def closes(self) -> bool:
        return self.start is None


@dataclass(frozen=True)
class Schedule:
    name: str
    timezone: str
    periods: tuple[Period, ...]
    exceptions: tuple[DatedException, ...] = ()
    off: OffAction = "stop"
    lead_minutes: int = 15
    """Start workers this long before a period, so they are ready when it begins."""
    grace_minutes: int = 30
    """After a period, wait this long for labs in use to end, then act anyway."""
    keep_alive_minutes: int = 60
    """A worker started outside hours is left up this long before it goes down again."""
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        schedule_name(self.name)
        try:
            object.__setattr__(self, "zone", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "America": a directory
            raise InvalidValue(
                "timezone", f"not an IANA time zone: {self.timezone[:40]!r}"
            ) from None
        if len(self.periods) > MAX_PERIODS or len(self.exceptions) > MAX_EXCEPTIONS:
            raise InvalidValue(
                "periods", f"at most {MAX_PERIODS} periods, {MAX_EXCEPTIONS} exceptions"
            )
        if self.off not in ("stop", "pause"):
            raise InvalidValue("off", "stop or pause")
        for name, minutes in (
            ("lead_minutes", self.lead_minutes),
            ("grace_minutes", self.grace_minutes),
            ("keep_alive_minutes", self.keep_alive_minutes),
        ):
            if not 0 <= minutes <= 24 * 60:
                raise InvalidValue(name, "0 to 1440 minutes")

    # -- when it is on -------------------------------------------------------------

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The on-times overlapping ``[start, end)``, merged and in order (UTC)."""
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        closed = {e.day for e in self.exceptions if e.closes}
        found: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            if day not in closed:
                found += [p.on(day, self.zone) for p in self.periods if day.weekday() in p.days]
            found += [
                _span(day, e.start, e.end, self.zone)
                for e in self.exceptions
                if e.day == day and e.start is not None and e.end is not None
            ]
            day += timedelta(days=1)
        return _merged([(a, b) for a, b in found if b > start and a < end])

    def is_on(self, at: datetime) -> bool:
        return any(a <= at < b for a, b in self.spans(at, at + timedelta(seconds=1)))

    def next_change(self, at: datetime, horizon_days: int = 400) -> datetime | None:
        """The first instant after ``at`` where on becomes off or off becomes on
        (``None``: none within the horizon)."""
        for days in (8, horizon_days):  # a week and a day holds every weekly change
            for a, b in self.spans(at, at + timedelta(days=days)):
                if a > at:
                    return a
                if b > at:
                    return b
        return None

    def current_span(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The on-time ``at`` falls in, if any."""
        for a, b in self.spans(at, at + timedelta(seconds=1)):
            if a <= at < b:
                return a, b
        return None


def _local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """A local date and time as an instant: in a gap, with the offset before it; twice
    over (fall back), the first."""
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _span(day: date, start: time, end: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    end_day = day if end > start else day + timedelta(days=1)
    return _local(day, start, zone), _local(end_day, end, zone)


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        elif b > a:
            merged.append((a, b))
    return merged


def schedule_name(value: str) -> str:
    """A schedule's name as given; raises ``InvalidValue`` for one that cannot be."""
    if not _NAME.match(value):
        raise InvalidValue("name", "1-63 of a-z, 0-9 and -, starting with a letter or digit")
    return value


def parse_days(text: str) -> frozenset[int]:
    """``mon-fri``, ``sat,sun``, ``mon,wed-fri`` → day numbers (0 Monday)."""
    days: set[int] = set()
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise InvalidValue("days", f"{part!r}: use mon..sun, ranges (mon-fri) and commas")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
    if not days:
        raise InvalidValue("days", "no day given")
    return frozenset(days)
