"""Schedules as stored and shown: their JSON form (what the API takes and answers) and
the store port. The rules are the domain's (``domain.schedules``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any, Protocol

from domain.errors import InvalidValue
from domain.schedules import DAYS, DatedException, Period, Schedule, parse_days


def _clock(text: Any, field: str) -> time:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidValue(field, f"not a time of day HH:MM: {str(text)[:10]!r}") from None


def _days(days: frozenset[int]) -> str:
    return ",".join(DAYS[d] for d in sorted(days))


def schedule_from(name: str, body: Mapping[str, Any]) -> Schedule:
    """A schedule from its JSON form; raises ``InvalidValue`` naming what is wrong."""
    periods = tuple(
        Period(parse_days(str(p["days"])), _clock(p["start"], "start"), _clock(p["end"], "end"))
        for p in body.get("periods", ())
    )
    exceptions = []
    for e in body.get("exceptions", ()):
        try:
            day = date.fromisoformat(str(e["date"]))
        except ValueError:
            raise InvalidValue("date", f"not a date YYYY-MM-DD: {str(e['date'])[:12]!r}") from None
        start, end = e.get("start"), e.get("end")
        exceptions.append(
            DatedException(
                day,
                None if start is None else _clock(start, "start"),
                None if end is None else _clock(end, "end"),
            )
        )
    return Schedule(
        name=name,
        timezone=str(body["timezone"]),
        periods=periods,
        exceptions=tuple(exceptions),
        off=body.get("off", "stop"),
        lead_minutes=int(body.get("lead_minutes", 15)),
        grace_minutes=int(body.get("grace_minutes", 30)),
        keep_alive_minutes=int(body.get("keep_alive_minutes", 60)),
    )


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    """The JSON form :func:`schedule_from` reads back."""
    return {
        "name": schedule.name,
        "timezone": schedule.timezone,
        "periods": [
            {
                "days": _days(p.days),
                "start": p.start.strftime("%H:%M"),
                "end": p.end.strftime("%H:%M"),
            }
            for p in schedule.periods
        ],
        "exceptions": [
            {"date": e.day.isoformat()}
            | (
                {}
                if e.start is None or e.end is None
                else {"start": e.start.strftime("%H:%M"), "end": e.end.strftime("%H:%M")}
            )
            for e in schedule.exceptions
        ],
        "off": schedule.off,
        "lead_minutes": schedule.lead_minutes,
        "grace_minutes": schedule.grace_minutes,
        "keep_alive_minutes": schedule.keep_alive_minutes,
    }


class ScheduleStore(Protocol):
    """The fleet's schedules by name (durable configuration, shared by every process
    on PostgreSQL). Synchronous; thread-safe."""

    def put(self, schedule: Schedule, actor: str) -> bool:
        """Store it (new or changed); whether it was new."""
        ...

    def get(self, name: str) -> Schedule | None: ...

    def all(self) -> Sequence[Schedule]: ...

    def remove(self, name: str) -> bool:
        """Remove it; whether it existed."""
        ...

    def close(self) -> None: ...
