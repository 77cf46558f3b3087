"""Monthly budgets: what a scope of the fleet (all of it, a team, the workers with a tag)
may cost in a calendar month (UTC), what it has cost so far, where the month is heading,
and which thresholds that crosses.

Spend is the cost ledger's running seconds by day (``application.costs``) times each
worker's hourly price; the forecast draws the month so far on to its end. Pure: the
budget job feeds it the ledgers, the workers and the time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from application.costs import HOUR, CostLedger, Prices
from application.dto import CMLWorkerDto
from domain.errors import InvalidValue
from domain.schedules import schedule_name
from domain.tags import BUDGET_EXEMPT_TAG

EXEMPT_TAG = BUDGET_EXEMPT_TAG
"""A worker tagged ``cml-fleet:budget-exempt=true`` is never paused by a budget."""
SCOPE_PATTERN = (
    r"^(fleet|team:[^\x00-\x1f\x7f]{1,64}|tag:[^=\x00-\x1f\x7f]{1,128}=[^\x00-\x1f\x7f]{0,256})$"
)
"""``fleet``, ``team:<team>`` or ``tag:<key>=<value>`` (no control characters)."""
SCOPE = re.compile(SCOPE_PATTERN)
MAX_AMOUNT = 10_000_000.0
MIN_AMOUNT = 0.01
"""A cent: less is no budget (and its percentages overflow)."""


@dataclass(frozen=True)
class Budget:
    name: str
    amount: float
    """What the scope may cost in a month, in the prices' currency."""
    scope: str = "fleet"
    """``fleet``, ``team:<team>`` or ``tag:<key>=<value>``."""
    thresholds: tuple[int, ...] = (50, 80, 100)
    """Percentages of ``amount`` that alert once per month each."""
    enforce: bool = False
    """At 100 %, pause the scope's running workers (those not exempt)."""

    def __post_init__(self) -> None:
        schedule_name(self.name)  # the same rule as a schedule's name
        if not MIN_AMOUNT <= self.amount <= MAX_AMOUNT:
            raise InvalidValue("amount", f"from {MIN_AMOUNT} to {MAX_AMOUNT:,.0f}")
        if not SCOPE.match(self.scope):
            raise InvalidValue("scope", "fleet, team:<team> or tag:<key>=<value>")
        if not self.thresholds or len(self.thresholds) > 10:
            raise InvalidValue("thresholds", "1 to 10 percentages")
        if any(not 1 <= t <= 1000 for t in self.thresholds):
            raise InvalidValue("thresholds", "percentages from 1 to 1000")
        object.__setattr__(self, "thresholds", tuple(sorted(set(self.thresholds))))

    def covers(self, worker: CMLWorkerDto) -> bool:
        """Whether ``worker`` is in the budget's scope."""
        kind, _, rest = self.scope.partition(":")
        if kind == "fleet":
            return True
        if kind == "team":
            return worker.team == rest
        key, _, value = rest.partition("=")
        return worker.tags.get(key) == value


def month_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def days_of(month: str, now: datetime) -> list[str]:
    """The month's days up to today (UTC), as ``YYYY-MM-DD``."""
    year, number = (int(p) for p in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    today = now.astimezone(UTC).date()
    days = [date(year, number, d) for d in range(1, last + 1)]
    return [d.isoformat() for d in days if d <= today]


def cost_by_day(
    ledgers: Iterable[CostLedger], prices: Prices, month: str, now: datetime
) -> list[tuple[str, float]]:
    """What the ledgers' workers cost each day of ``month`` so far."""
    days = {day: 0.0 for day in days_of(month, now)}
    for ledger in ledgers:
        price = prices.of(ledger.instance_type)
        for day, seconds in ledger.running_by_day(now).items():
            if day in days:
                days[day] += seconds / HOUR * price
    return [(day, round(cost, 2)) for day, cost in days.items()]


def forecast(spend: float, now: datetime) -> float:
    """The month's spend if it goes on as it has: ``spend`` over the part gone."""
    at = now.astimezone(UTC)
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    length = calendar.monthrange(at.year, at.month)[1] * 86400.0
    gone = max((at - start).total_seconds(), 3600.0)  # the first hour says little
    return round(spend * length / gone, 2)


def month_end(now: datetime) -> datetime:
    at = now.astimezone(UTC)
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first + timedelta(days=calendar.monthrange(at.year, at.month)[1])


@dataclass(frozen=True)
class Standing:
    """A budget this month."""

    budget: Budget
    month: str
    spend: float
    forecast: float
    workers: tuple[CMLWorkerDto, ...]
    """The scope's workers now."""

    @property
    def percent(self) -> float:
        return round(self.spend / self.budget.amount * 100, 1)

    def reached(self) -> tuple[int, ...]:
        """The thresholds the spend has reached."""
        return tuple(
            t for t in self.budget.thresholds if self.spend >= self.budget.amount * t / 100
        )


def standing(
    budget: Budget,
    workers: Sequence[CMLWorkerDto],
    ledgers: Mapping[str, CostLedger],
    prices: Prices,
    now: datetime,
) -> Standing:
    """``budget`` this month: the spend of the workers in scope now (terminated ones
    included while the read model keeps them)."""
    month = month_of(now)
    scope = tuple(w for w in workers if budget.covers(w))
    mine = [ledgers[w.id] for w in scope if w.id in ledgers]
    spend = round(sum(cost for _, cost in cost_by_day(mine, prices, month, now)), 2)
    return Standing(budget, month, spend, forecast(spend, now), scope)


def to_pause(s: Standing) -> list[CMLWorkerDto]:
    """The running workers an enforced budget pauses: in scope, not exempt."""
    return [w for w in s.workers
            if w.status == "running" and w.tags.get(EXEMPT_TAG, "").lower() != "true"]  # fmt: skip


def budget_from(name: str, body: Mapping[str, Any]) -> Budget:
    return Budget(
        name=name,
        amount=float(body["amount"]),
        scope=str(body.get("scope", "fleet")),
        thresholds=tuple(int(t) for t in body.get("thresholds", (50, 80, 100))),
        enforce=bool(body.get("enforce", False)),
    )


def budget_json(budget: Budget) -> dict[str, Any]:
    return {
        "name": budget.name,
        "amount": budget.amount,
        "scope": budget.scope,
        "thresholds": list(budget.thresholds),
        "enforce": budget.enforce,
    }


@dataclass(frozen=True)
class Alert:
    budget: str
    month: str
    threshold: int
    spend: float
    at: datetime


class BudgetStore(Protocol):
    """Budgets by name, their alerts (once per month and threshold) and lifts. Alerts are
    written with their webhook deliveries in one transaction."""

    def put(self, budget: Budget) -> bool: ...

    def get(self, name: str) -> Budget | None: ...

    def all(self) -> Sequence[Budget]: ...

    def remove(self, name: str) -> bool: ...

    def alert(self, alert: Alert, event: dict[str, Any], subscriptions: Sequence[str]) -> bool:
        """Record ``alert`` and queue ``event`` for ``subscriptions`` (one transaction);
        ``False``: it was recorded before (nothing queued again)."""
        ...

    def alerts(self, month: str) -> Sequence[Alert]: ...

    def lift(self, name: str, month: str, actor: str, at: datetime) -> bool: ...

    def lifted(self, month: str) -> dict[str, str]:
        """Budgets lifted for ``month``, and by whom."""
        ...
