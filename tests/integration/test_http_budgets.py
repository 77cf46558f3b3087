"""``/api/budgets`` and ``/api/fleet/daily-costs``: admins define, remove and lift budgets;
every role reads them with this month's spend and forecast; bad budgets are refused
naming the field and change nothing; the daily costs add up to the month so far."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.integration.test_budget_job import running
from tests.integration.test_http_api import settings_for

RED = {"amount": 100.0, "scope": "team:red", "thresholds": [80, 50], "enforce": True}


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str], system: System) -> None:
        self.client, self.tokens, self.system = client, tokens, system

    def call(self, role: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, path, json=body, headers=headers)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path), clock=FakeClock(datetime.now(UTC)))
    tokens = {r.value: system.auth.create_token(r, r.value) for r in Role}
    with TestClient(create_app(system)) as client:
        yield Api(client, tokens, system)


def test_an_admin_defines_a_budget_and_every_role_reads_its_spend(api: Api) -> None:
    running(api.system, "red-1", **{"cml-fleet:team": "red"})
    clock = api.system.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(hours=10))
    api.system.read_model.catch_up()

    put = api.call("admin", "PUT", "/api/budgets/red", RED)
    view = api.call("viewer", "GET", "/api/budgets/red").json()

    assert put.status_code == 200
    spend = round(api.system.configs.prices.of("m5.xlarge") * 10, 2)
    assert (view["spend"], view["workers"], view["thresholds"]) == (spend, 1, [50, 80])
    assert view["month"] == clock.now().strftime("%Y-%m") and view["forecast"] >= spend
    assert (view["alerted"], view["lifted_by"], view["currency"]) == ([], None, "USD")
    assert api.call("operator", "GET", "/api/budgets").json()["items"] == [view]
    daily = api.call("viewer", "GET", "/api/fleet/daily-costs").json()
    assert daily["total"] == pytest.approx(spend, abs=0.02)
    assert daily["days"][-1]["day"] <= clock.now().date().isoformat()


def test_lifting_is_an_admins_once_a_month_and_removing_forgets_it(api: Api) -> None:
    api.call("admin", "PUT", "/api/budgets/red", RED)

    assert api.call("operator", "POST", "/api/budgets/red/lift").status_code == 403
    lifted = api.call("admin", "POST", "/api/budgets/red/lift")
    assert lifted.status_code == 200 and lifted.json()["lifted_by"] == "admin"
    again = api.call("admin", "POST", "/api/budgets/red/lift")
    assert again.status_code == 409 and again.json()["type"].endswith(":budget-already-lifted")
    assert api.call("admin", "DELETE", "/api/budgets/red").status_code == 204
    assert api.call("viewer", "GET", "/api/budgets/red").status_code == 404
    assert api.call("admin", "POST", "/api/budgets/red/lift").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 0.001}, "amount"),
        ({"amount": -10}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"scope": "region:eu"}, "scope"),
        ({"scope": "team:"}, "scope"),
        ({"thresholds": []}, "thresholds"),
        ({"thresholds": [0]}, "thresholds"),
        ({"enforce": "yes"}, "enforce"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_budget_is_refused_naming_the_field_and_nothing_is_stored(
    api: Api, change: dict[str, Any], field: str
) -> None:
    answer = api.call("admin", "PUT", "/api/budgets/red", RED | change)

    assert answer.status_code == 422 and field in answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert api.call("admin", "GET", "/api/budgets").json()["items"] == []
    assert api.call("operator", "PUT", "/api/budgets/red", RED).status_code == 403


def test_whole_numbers_written_as_decimals_are_whole_thresholds(api: Api) -> None:
    answer = api.call("admin", "PUT", "/api/budgets/red", RED | {"thresholds": [50.0, 100]})

    assert answer.status_code == 200 and answer.json()["thresholds"] == [50, 100]


def test_with_no_budget_the_list_reads_no_worker_and_no_ledger(api: Api, monkeypatch) -> None:
    """The dashboard asks for the budgets on every load: without any, a 10,000-worker
    fleet's views and ledgers are not decoded for nothing (seconds of server time)."""
    running(api.system, "red-1", **{"cml-fleet:team": "red"})
    read_model = api.system.read_model

    def not_needed(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the whole fleet was read for an empty budget list")

    monkeypatch.setattr(read_model, "all_workers", not_needed)
    monkeypatch.setattr(read_model, "cost_ledgers", not_needed)
    answer = api.call("viewer", "GET", "/api/budgets")
    assert (answer.status_code, answer.json()["items"]) == (200, [])
