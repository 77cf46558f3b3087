"""The budgets job: each budget's spend this month, a webhook alert for each threshold it
reaches (once per month: ``BudgetStore.alert``), and, for an enforced budget at 100 %,
a pause of the scope's running workers that are not exempt — each the worker's own
command by ``budget:<name>`` (reason ``budget``), until an admin lifts the budget for
the month."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.budgets import Alert, Budget, BudgetStore, Standing, standing, to_pause
from application.changes import ChangeFeed, threshold_reached
from application.commands.batching import record_together
from application.commands.lifecycle import PauseWorker, pause_worker
from application.costs import CostLedger, Prices
from application.dto import CMLWorkerDto
from application.errors import ApplicationError
from application.jobs.moment import At
from application.mapper import rfc3339
from application.ports import RunSync, WorkerStore
from application.webhooks.ports import WebhookStore
from domain.errors import DomainError
from domain.status import PauseReason

ACTOR = "job:budgets"


class BudgetView(Protocol):
    def all_workers(self, include_terminated: bool = False) -> tuple[CMLWorkerDto, ...]: ...

    def cost_ledgers(self) -> list[CostLedger]: ...


@dataclass(frozen=True)
class BudgetReport:
    at: datetime
    budgets: int
    alerts: tuple[str, ...]
    """``<budget> <threshold>%`` for each alert sent this cycle."""
    paused: int
    failures: int
    duration_seconds: float


def alert_event(s: Standing, threshold: int, now: datetime, currency: str) -> dict[str, Any]:
    """The CloudEvent of an alert (its ``id`` is set by the store)."""
    b = s.budget
    return {
        "specversion": "1.0",
        "id": "",
        "source": f"/cml-fleet/budgets/{b.name}",
        "type": "io.cml-fleet.budget.threshold.reached",
        "subject": b.name,
        "time": rfc3339(now),
        "datacontenttype": "application/json",
        "data": {
            "type": "budget.threshold.reached",
            "actor": ACTOR,
            "budget": b.name,
            "scope": b.scope,
            "month": s.month,
            "threshold": threshold,
            "amount": b.amount,
            "spend": s.spend,
            "forecast": s.forecast,
            "currency": currency,
            "enforce": b.enforce,
        },
    }


class BudgetJob:
    def __init__(
        self,
        *,
        store: WorkerStore,
        read_model: BudgetView,
        budgets: BudgetStore,
        webhooks: WebhookStore,
        prices: Prices,
        run_sync: RunSync,
        feed: ChangeFeed | None = None,
    ) -> None:
        self.store, self.read_model, self.budgets = store, read_model, budgets
        self.webhooks, self.prices, self.run_sync = webhooks, prices, run_sync
        self.feed = feed

    def standings(self, now: datetime) -> list[Standing]:
        """Every budget this month (in a thread)."""
        workers = self.read_model.all_workers(include_terminated=True)
        ledgers = {ledger.worker_id: ledger for ledger in self.read_model.cost_ledgers()}
        return [standing(b, workers, ledgers, self.prices, now) for b in self.budgets.all()]

    async def run(self, now: datetime) -> BudgetReport:
        started = time.perf_counter()
        standings = await self.run_sync(self.standings, now)
        month = standings[0].month if standings else ""
        fired = {(a.budget, a.threshold) for a in await self.run_sync(self.budgets.alerts, month)}
        lifted = await self.run_sync(self.budgets.lifted, month)
        listeners = [
            s.id for s in await self.run_sync(self.webhooks.subscriptions)
            if "budget" in s.events or "*" in s.events
        ]  # fmt: skip
        alerts: list[str] = []
        paused = failures = 0
        for s in standings:
            for threshold in s.reached():
                if (s.budget.name, threshold) in fired:
                    continue
                alert = Alert(s.budget.name, s.month, threshold, s.spend, now)
                event = alert_event(s, threshold, now, self.prices.currency)
                if await self.run_sync(self.budgets.alert, alert, event, listeners):
                    alerts.append(f"{s.budget.name} {threshold}%")
                    if self.feed is not None:
                        self.feed.announce(threshold_reached(event["data"], event["time"]))
            if _enforced(s.budget, s) and s.budget.name not in lifted:
                done, failed = await self._pause(s, now)
                paused, failures = paused + done, failures + failed
        return BudgetReport(
            at=now,
            budgets=len(standings),
            alerts=tuple(alerts),
            paused=paused,
            failures=failures,
            duration_seconds=time.perf_counter() - started,
        )

    async def _pause(self, s: Standing, now: datetime) -> tuple[int, int]:
        actor, correlation = f"budget:{s.budget.name}", f"budget-{s.budget.name}-{s.month}"
        commands = [
            PauseWorker(UUID(w.id), actor, correlation, reason=PauseReason.BUDGET)
            for w in to_pause(s)
        ]
        if not commands:
            return 0, 0
        recordings = [_recording(c, now) for c in commands]
        outcomes = await self.run_sync(record_together, self.store, recordings)
        failed = sum(1 for o in outcomes if isinstance(o, DomainError | ApplicationError))
        for outcome in outcomes:
            if isinstance(outcome, Exception) and not isinstance(
                outcome, DomainError | ApplicationError
            ):
                raise outcome
        return len(outcomes) - failed, failed


def _enforced(budget: Budget, s: Standing) -> bool:
    return budget.enforce and s.spend >= budget.amount


def _recording(command: PauseWorker, now: datetime) -> Any:
    return lambda store: [pause_worker(command, store, At(now))]
