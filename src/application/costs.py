"""The cost model: running hours and hours saved by auto-pause, and the money they mean.

A :class:`CostLedger` per worker is folded from its events' timestamps (so rebuilding
the read model gives the same figures): *running* is time in status ``running``;
*saved* is time from an ``idle_timeout`` pause until the next resume or start (or the
end). Money is computed when asked, from the prices in the settings, so a price change
applies to the hours already counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from application.dto import doc
from application.mapper import rfc3339
from domain.status import FINAL_STATUSES, UP_STATUSES, PauseReason, WorkerStatus
from domain.worker import CMLWorker

HOUR = 3600.0
_UP = frozenset(s.value for s in UP_STATUSES)
_FINAL = frozenset(s.value for s in FINAL_STATUSES)


@dataclass(frozen=True)
class CostLedger:
    """One worker's counted seconds, closed intervals plus the open one (``*_since``)."""

    worker_id: str
    name: str
    instance_type: str
    running_seconds: float = 0.0
    running_since: datetime | None = None
    saved_seconds: float = 0.0
    saved_since: datetime | None = None
    days: tuple[tuple[str, float], ...] = ()
    """Running seconds by UTC day (``YYYY-MM-DD``), closed intervals, the last
    ``DAYS_KEPT`` days: a month's spend and the cost per day come from here."""

    def after(self, event: CMLWorker.Event, status: str, name: str) -> CostLedger:
        """The ledger once ``event`` happened, leaving the worker in ``status``."""
        at = event.timestamp
        ledger = self if name == self.name else replace(self, name=name)  # most events: same
        running = status == WorkerStatus.RUNNING.value
        if running and ledger.running_since is None:
            ledger = replace(ledger, running_since=at)
        elif not running and ledger.running_since is not None:
            spent = ledger.running_seconds + _seconds(ledger.running_since, at)
            days = _add_days(ledger.days, ledger.running_since, at)
            ledger = replace(ledger, running_seconds=spent, running_since=None, days=days)
        if _auto_pause(event) and ledger.saved_since is None:
            return replace(ledger, saved_since=at)
        saving_ends = status in _UP or status in _FINAL
        if ledger.saved_since is not None and (saving_ends or isinstance(event, CMLWorker.Resumed)):
            saved = ledger.saved_seconds + _seconds(ledger.saved_since, at)
            ledger = replace(ledger, saved_seconds=saved, saved_since=None)
        return ledger

    def hours_at(self, now: datetime) -> tuple[float, float]:
        """(running hours, saved hours) counting open intervals up to ``now``."""
        running = self.running_seconds + _seconds(self.running_since, now)
        saved = self.saved_seconds + _seconds(self.saved_since, now)
        return running / HOUR, saved / HOUR

    def running_by_day(self, now: datetime) -> dict[str, float]:
        """Running seconds by UTC day, the open interval counted up to ``now``."""
        days = _add_days(self.days, self.running_since, now) if self.running_since else self.days
        return dict(days)


DAYS_KEPT = 62


def _add_days(
    days: tuple[tuple[str, float], ...], since: datetime | None, until: datetime
) -> tuple[tuple[str, float], ...]:
    """``days`` plus the interval ``[since, until)`` split at UTC midnights."""
    counted = dict(days)
    at = since.astimezone(UTC) if since is not None else until
    end = until.astimezone(UTC)
    while at < end:
        midnight = datetime.combine(at.date() + timedelta(days=1), time(0), UTC)
        upto = min(midnight, end)
        key = at.date().isoformat()
        counted[key] = counted.get(key, 0.0) + (upto - at).total_seconds()
        at = upto
    return tuple(sorted(counted.items())[-DAYS_KEPT:])


def _auto_pause(event: CMLWorker.Event) -> bool:
    return isinstance(event, CMLWorker.Paused) and event.reason is PauseReason.IDLE_TIMEOUT


def _seconds(since: datetime | None, until: datetime) -> float:
    return 0.0 if since is None else max(0.0, (until - since).total_seconds())


@dataclass(frozen=True)
class Prices:
    """Price per hour by instance type, a default for the others, and the currency."""

    per_hour: Mapping[str, float] = field(default_factory=dict)
    default: float = 0.5
    currency: str = "USD"

    def of(self, instance_type: str) -> float:
        return self.per_hour.get(instance_type, self.default)


@dataclass(frozen=True)
class WorkerCost:
    """One worker's running and saved hours, and what they cost or saved."""

    worker_id: str = field(metadata=doc("Worker id (UUID)."))
    name: str = field(metadata=doc("Human name of the worker."))
    instance_type: str = field(metadata=doc("EC2 instance type (sets the price)."))
    hourly_price: float = field(metadata=doc("Price per hour of the instance type."))
    running_hours: float = field(metadata=doc("Hours in status running."))
    running_cost: float = field(metadata=doc("running_hours x hourly_price."))
    saved_hours: float = field(
        metadata=doc("Hours stopped by an idle_timeout pause until the next resume or start.")
    )
    saved_cost: float = field(metadata=doc("saved_hours x hourly_price: money saved."))


@dataclass(frozen=True)
class FleetCost:
    """The fleet's running hours and hours saved by auto-pause, with their money."""

    currency: str = field(metadata=doc("Currency of every amount (setting COST_CURRENCY)."))
    as_of: str = field(metadata=doc("Open intervals are counted up to this time, RFC 3339."))
    running_hours: float = field(metadata=doc("Hours workers spent running, all workers."))
    running_cost: float = field(metadata=doc("What those hours cost."))
    saved_hours: float = field(metadata=doc("Hours workers were paused for being idle."))
    saved_cost: float = field(metadata=doc("What those hours would have cost: money saved."))
    workers: tuple[WorkerCost, ...] | None = field(
        default=None, metadata=doc("Per worker, most expensive first (?per_worker=true).")
    )


def worker_cost(ledger: CostLedger, prices: Prices, now: datetime) -> WorkerCost:
    running, saved = ledger.hours_at(now)
    price = prices.of(ledger.instance_type)
    return WorkerCost(
        worker_id=ledger.worker_id,
        name=ledger.name,
        instance_type=ledger.instance_type,
        hourly_price=price,
        running_hours=round(running, 4),
        running_cost=round(running * price, 2),
        saved_hours=round(saved, 4),
        saved_cost=round(saved * price, 2),
    )


def fleet_cost(
    ledgers: Sequence[CostLedger], prices: Prices, now: datetime, per_worker: bool = False
) -> FleetCost:
    """Totals over every worker (terminated ones included: their hours were spent)."""
    costs = [worker_cost(ledger, prices, now) for ledger in ledgers]
    return FleetCost(
        currency=prices.currency,
        as_of=rfc3339(now) or "",
        running_hours=round(sum(c.running_hours for c in costs), 4),
        running_cost=round(sum(c.running_cost for c in costs), 2),
        saved_hours=round(sum(c.saved_hours for c in costs), 4),
        saved_cost=round(sum(c.saved_cost for c in costs), 2),
        workers=tuple(sorted(costs, key=lambda c: -c.running_cost)) if per_worker else None,
    )
