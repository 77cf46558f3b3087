"""The fleet's schedules, stored and read back the same on SQLite and PostgreSQL, and
shared by the processes of a cluster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from application.schedules import schedule_from, schedule_json
from domain.errors import InvalidValue
from domain.schedules import DatedException, Period, Schedule, parse_days
from infrastructure.store.schedule_store import open_schedule_store
from tests.contract.store_backends import DURABLE_BACKENDS, backend_settings, database_for

OFFICE = Schedule(
    "office",
    "Europe/Amsterdam",
    (
        Period(parse_days("mon-fri"), time(8), time(18)),
        Period(parse_days("fri"), time(22), time(2)),
    ),
    (DatedException(date(2026, 12, 25)), DatedException(date(2026, 12, 19), time(18), time(21))),
    off="pause",
    lead_minutes=20,
    grace_minutes=45,
)


@pytest.fixture(params=DURABLE_BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with (
        backend_settings(request.param, tmp_path) as settings,
        database_for(settings) as database,
    ):
        yield lambda: open_schedule_store(settings, database)


def test_a_schedule_is_stored_and_read_back_whole_by_another_process(stores: Any) -> None:
    one, other = stores(), stores()

    assert one.put(OFFICE, "ada") is True
    assert other.get("office") == OFFICE
    assert [s.name for s in other.all()] == ["office"]


def test_changing_and_removing_a_schedule(stores: Any) -> None:
    store = stores()
    store.put(OFFICE, "ada")
    evenings = Schedule("office", "UTC", (Period(parse_days("sat"), time(18), time(22)),))

    assert store.put(evenings, "ada") is False  # not new: changed
    assert store.get("office") == evenings
    assert store.remove("office") is True
    assert store.remove("office") is False
    assert store.get("office") is None and store.all() == []


def test_the_json_form_round_trips() -> None:
    assert schedule_from("office", schedule_json(OFFICE)) == OFFICE


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "UTC", "periods": [{"days": "mon", "start": "8", "end": "18:00"}]},
        {"timezone": "UTC", "periods": [{"days": "mon", "start": "25:00", "end": "18:00"}]},
        {"timezone": "UTC", "exceptions": [{"date": "2026-02-30"}]},
        {"timezone": "Nowhere/City"},
    ],
)
def test_a_bad_json_form_is_refused_naming_the_field(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        schedule_from("office", body)
