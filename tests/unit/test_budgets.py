"""Budget arithmetic: running time split by UTC day (across midnight, open intervals up to
now), cost per day at each type's price, the month's forecast, which thresholds are
reached, who is in scope and who an enforced budget pauses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.budgets import EXEMPT_TAG, Budget, cost_by_day, forecast, standing, to_pause
from application.costs import CostLedger, Prices
from application.dto import CMLWorkerDto
from application.mapper import map_worker_to_dto
from domain.cause import Cause
from domain.errors import InvalidValue
from domain.spec import WorkerSpec
from domain.worker import CMLWorker

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PRICES = Prices({"m5.xlarge": 2.0}, default=1.0)


def ledger(worker_id: str = "w1", **fields: Any) -> CostLedger:
    return CostLedger(worker_id, worker_id, "m5.xlarge", **fields)


def dto(worker_id: str, status: str = "running", **tags: str) -> CMLWorkerDto:
    worker = CMLWorker.create(WorkerSpec(worker_id, "eu-west-1", "m5.xlarge", "ami-1",
                                         tags=tags), cause=Cause("a", "c"))  # fmt: skip
    team = tags.get("cml-fleet:team")
    return replace(map_worker_to_dto(worker), id=worker_id, status=status, team=team)


def test_running_time_is_split_at_utc_midnight_and_the_open_interval_counts_to_now() -> None:
    since = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    running = ledger(running_since=since)

    by_day = running.running_by_day(NOW)

    assert by_day == {"2026-12-03": 7200.0, "2026-12-04": 86400.0, "2026-12-05": 43200.0}


def test_a_closed_interval_is_kept_by_day_when_the_worker_stops() -> None:
    from domain.status import WorkerStatus

    worker = CMLWorker.create(WorkerSpec("w", "eu-west-1", "m5.xlarge", "ami-1"),
                              cause=Cause("a", "c"))  # fmt: skip
    event = worker.pending_events[-1]
    up = ledger(running_since=event.timestamp - timedelta(hours=3))

    after = up.after(event, WorkerStatus.STOPPED.value, "w")

    assert after.running_since is None
    assert sum(s for _, s in after.days) == pytest.approx(3 * 3600, abs=1)


def test_cost_by_day_prices_each_type_and_covers_the_month_so_far() -> None:
    ledgers = [
        ledger("a", days=(("2026-11-30", 3600.0), ("2026-12-01", 7200.0))),
        CostLedger("b", "b", "t3.small", days=(("2026-12-01", 3600.0),)),
    ]

    days = cost_by_day(ledgers, PRICES, "2026-12", NOW)

    assert days[0] == ("2026-12-01", 5.0)  # 2 h x 2.0 + 1 h x 1.0 (the default)
    assert [d for d, _ in days] == [f"2026-12-0{n}" for n in range(1, 6)]
    assert sum(c for _, c in days) == 5.0  # November is not December's


def test_the_forecast_draws_the_month_so_far_on_to_its_end() -> None:
    mid = datetime(2026, 12, 16, 12, 0, tzinfo=UTC)  # half of a 31-day month gone... almost
    assert forecast(100.0, mid) == pytest.approx(100.0 * 31 / 15.5, rel=1e-3)
    assert forecast(1.0, datetime(2026, 12, 1, 0, 10, tzinfo=UTC)) == pytest.approx(744.0)


def test_thresholds_reached_scope_and_who_is_paused() -> None:
    day = (("2026-12-05", 3600.0 * 10),)  # 10 h at 2.0 = 20.0 each
    ledgers = {w: ledger(w, days=day) for w in ("red1", "red2", "blue")}
    workers = [
        dto("red1", **{"cml-fleet:team": "red"}),
        dto("red2", **{"cml-fleet:team": "red", EXEMPT_TAG: "true"}),
        dto("blue", **{"cml-fleet:team": "blue"}),
    ]
    red = Budget("red", 50.0, "team:red", (50, 80, 100), enforce=True)

    s = standing(red, workers, ledgers, PRICES, NOW)

    assert (s.spend, s.percent, s.reached()) == (40.0, 80.0, (50, 80))
    assert [w.id for w in s.workers] == ["red1", "red2"]
    assert [w.id for w in to_pause(s)] == ["red1"]  # red2 is exempt
    tagged = Budget("ccna", 10.0, "tag:course=ccna")
    assert (
        standing(tagged, [dto("x", course="ccna"), dto("y")], ledgers, PRICES, NOW).workers[0].id
        == "x"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"scope": "team:"}, "scope"),
        ({"scope": "region:eu"}, "scope"),
        ({"thresholds": ()}, "thresholds"),
        ({"thresholds": (0,)}, "thresholds"),
        ({"name": "Not A Name"}, "name"),
    ],
)
def test_a_bad_budget_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Budget(**({"name": "b", "amount": 10.0} | fields))
    assert refused.value.field == field
