"""Budgets, their alerts and lifts, the same on SQLite and PostgreSQL: an alert is
recorded once per month and threshold, and its webhook deliveries are queued with it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from application.budgets import Alert, Budget
from application.webhooks.subscriptions import Subscription
from infrastructure.store.budget_store import SqlBudgetStore
from infrastructure.store.webhook_store import open_webhook_store
from tests.contract.store_backends import DURABLE_BACKENDS, backend_settings, database_for

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
RED = Budget("red", 500.0, "team:red", (50, 100), enforce=True)
EVENT = {"id": "", "data": {"type": "budget.threshold.reached", "budget": "red"}}


@pytest.fixture(params=DURABLE_BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with (
        backend_settings(request.param, tmp_path) as settings,
        database_for(settings) as database,
    ):
        opened: list[Any] = []

        def open_one() -> tuple[Any, SqlBudgetStore]:
            webhooks = open_webhook_store(settings, database)
            opened.append(webhooks)
            return webhooks, SqlBudgetStore(webhooks)

        yield open_one
        for store in opened:
            store.close()


def test_budgets_are_kept_and_seen_by_another_process(stores: Any) -> None:
    (_, one), (_, other) = stores(), stores()

    assert one.put(RED) is True and one.put(RED) is False
    assert other.get("red") == RED and [b.name for b in other.all()] == ["red"]
    assert other.remove("red") is True and one.get("red") is None


def test_an_alert_is_recorded_once_and_its_deliveries_are_queued_with_it(stores: Any) -> None:
    webhooks, budgets = stores()
    webhooks.add(Subscription("money", "https://x.example/h", "0123456789abcdef", ("budget",)))
    alert = Alert("red", "2026-12", 50, 251.0, AT)

    assert budgets.alert(alert, EVENT, ["money"]) is True
    assert budgets.alert(alert, EVENT, ["money"]) is False  # a restart, the same month

    (delivery,) = webhooks.due(AT.timestamp(), 10)
    assert delivery.position < 0 and delivery.event_id == "budget:red:2026-12:50"
    assert [(a.budget, a.threshold, a.spend) for a in budgets.alerts("2026-12")] == [
        ("red", 50, 251.0)
    ]
    assert budgets.alerts("2027-01") == []


def test_a_budget_is_lifted_once_a_month(stores: Any) -> None:
    _, budgets = stores()

    assert budgets.lift("red", "2026-12", "ada", AT) is True
    assert budgets.lift("red", "2026-12", "bob", AT) is False
    assert budgets.lifted("2026-12") == {"red": "ada"} and budgets.lifted("2027-01") == {}
