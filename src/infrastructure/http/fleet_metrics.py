"""Figures about the fleet's money and licenses, for alert rules
(``deploy/prometheus/cml-fleet.rules.yml``): each budget's spend and forecast as a share
of its amount this month, and how many workers each license status has (CML's
evaluation license runs out; an expired one stops labs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from application.budgets import standing
from domain.status import LicenseStatus

if TYPE_CHECKING:
    from infrastructure.http.served import Observed


class FleetCollector(Collector):
    def __init__(self, system: Observed) -> None:
        self.system = system

    def collect(self) -> Iterator[Metric]:
        yield self._licenses()
        yield from self._budgets()

    def _licenses(self) -> Metric:
        counts = Counter(w.license_status for w in self.system.read_model.all_workers())
        found = GaugeMetricFamily(
            "cml_fleet_workers_by_license",
            "Managed workers by CML license status (evaluation: it runs out; expired, failed).",
            labels=["status"],
        )
        for status in LicenseStatus:
            found.add_metric([status.value], counts.get(status.value, 0))
        return found

    def _budgets(self) -> Iterator[Metric]:
        labels = ["budget", "scope"]
        spend = GaugeMetricFamily(
            "cml_fleet_budget_spend_ratio",
            "A budget's spend this month over its amount (1: all of it).",
            labels=labels,
        )
        forecast = GaugeMetricFamily(
            "cml_fleet_budget_forecast_ratio",
            "A budget's forecast for the month over its amount.",
            labels=labels,
        )
        budgets = self.system.budgets.all()
        if budgets:
            now = self.system.clock.now()
            workers = self.system.read_model.all_workers(include_terminated=True)
            ledgers = {led.worker_id: led for led in self.system.read_model.cost_ledgers()}
            prices = self.system.configs.prices
            for budget in budgets:
                s = standing(budget, workers, ledgers, prices, now)
                spend.add_metric([budget.name, budget.scope], s.spend / budget.amount)
                forecast.add_metric([budget.name, budget.scope], s.forecast / budget.amount)
        yield from (spend, forecast)
