"""Budgets, their alerts and lifts (``application.budgets.BudgetStore``), in the webhook
store's database: an alert and the webhook deliveries it makes are written in one
transaction, so a threshold alerts once per month and its notifications are never lost.
An alert's deliveries carry the alert's number below zero where the log's events carry
their (positive) position."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from application.budgets import Alert, Budget, budget_from, budget_json
from application.webhooks.messages import event_json
from infrastructure.store.webhook_store import SqlWebhookStore


class SqlBudgetStore:
    def __init__(self, webhooks: SqlWebhookStore) -> None:
        self.db = webhooks

    def _all(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        return self.db._all(text, args)

    def put(self, budget: Budget) -> bool:
        with self.db._transaction() as db:
            found = db.execute(
                self.db._sql("SELECT 1 FROM budgets WHERE name = ?"), (budget.name,)
            ).fetchall()
            db.execute(
                self.db._sql(
                    "INSERT INTO budgets (name, body) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET body = excluded.body"
                ),
                (budget.name, json.dumps(budget_json(budget))),
            )
        return not found

    def get(self, name: str) -> Budget | None:
        rows = self._all("SELECT body FROM budgets WHERE name = ?", (name,))
        return budget_from(name, json.loads(rows[0][0])) if rows else None

    def all(self) -> Sequence[Budget]:
        rows = self._all("SELECT name, body FROM budgets ORDER BY name")
        return [budget_from(name, json.loads(body)) for name, body in rows]

    def remove(self, name: str) -> bool:
        with self.db._transaction() as db:
            sql = self.db._sql
            found = db.execute(sql("SELECT 1 FROM budgets WHERE name = ?"), (name,)).fetchall()
            db.execute(sql("DELETE FROM budgets WHERE name = ?"), (name,))
        return bool(found)

    def alert(self, alert: Alert, event: dict[str, Any], subscriptions: Sequence[str]) -> bool:
        key = (alert.budget, alert.month, alert.threshold)
        with self.db._transaction() as db:
            sql = self.db._sql
            where = "WHERE budget = ? AND month = ? AND threshold = ?"
            if db.execute(sql(f"SELECT 1 FROM budget_alerts {where}"), key).fetchall():
                return False
            db.execute(
                sql("INSERT INTO budget_alerts (budget, month, threshold, spend, at)"
                    " VALUES (?, ?, ?, ?, ?)"),
                (*key, alert.spend, alert.at.isoformat()),
            )  # fmt: skip
            number = db.execute(sql(f"SELECT id FROM budget_alerts {where}"), key).fetchall()
            position = -int(number[0][0])
            event = event | {"id": f"budget:{alert.budget}:{alert.month}:{alert.threshold}"}
            db.execute(
                sql("INSERT INTO webhook_events (position, event_id, event_type, event)"
                    " VALUES (?, ?, ?, ?)"),
                (position, event["id"], event["data"]["type"], event_json(event)),
            )  # fmt: skip
            now = alert.at.timestamp()
            db.executemany(
                sql("INSERT INTO webhook_deliveries (subscription_id, position, state, attempts,"
                    " next_attempt_at, created_at) VALUES (?, ?, 'pending', 0, ?, ?)"),
                [(s, position, now, now) for s in subscriptions],
            )  # fmt: skip
        return True

    def alerts(self, month: str) -> Sequence[Alert]:
        rows = self._all(
            "SELECT budget, month, threshold, spend, at FROM budget_alerts WHERE month = ?"
            " ORDER BY id",
            (month,),
        )
        return [Alert(b, m, int(t), float(s), datetime.fromisoformat(a)) for b, m, t, s, a in rows]

    def lift(self, name: str, month: str, actor: str, at: datetime) -> bool:
        with self.db._transaction() as db:
            sql = self.db._sql
            found = db.execute(
                sql("SELECT 1 FROM budget_lifts WHERE budget = ? AND month = ?"), (name, month)
            ).fetchall()
            if found:
                return False
            db.execute(
                sql("INSERT INTO budget_lifts (budget, month, actor, at) VALUES (?, ?, ?, ?)"),
                (name, month, actor, at.isoformat()),
            )
        return True

    def lifted(self, month: str) -> dict[str, str]:
        rows = self._all("SELECT budget, actor FROM budget_lifts WHERE month = ?", (month,))
        return {budget: actor for budget, actor in rows}

    def close(self) -> None:
        """The webhook store's database: closed with it."""
