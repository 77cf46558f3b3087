"""The budgets job on a real system (SQLite, a fake clock five hours past the real time
so the workers have run a while): each threshold a budget reaches alerts once a month,
as a signed webhook to the subscriptions of group ``budget``; an enforced budget at 100 %
pauses its scope's running workers, not the exempt ones, each by ``budget:<name>`` with
reason ``budget``; once an admin lifts it for the month it pauses no more."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.budgets import EXEMPT_TAG, Budget, month_of
from application.changes import SettingsChange
from application.commands.lifecycle import CreateWorker, create_worker
from application.commands.observations import ObserveInstance, observe_instance
from application.contracts.notifications import BudgetThresholdReached
from application.queries import GetWorker
from application.webhooks.subscriptions import Subscription
from domain.status import WorkerStatus as S
from domain.tags import TEAM_TAG
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.builders import build_budget_job
from tests.integration.test_http_api import settings_for
from tests.integration.test_webhook_delivery import SECRET, Receiver, deliver, started

FIVE_HOURS = timedelta(hours=5)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    # Event times are the real clock's: the fake one is set five hours on, after the workers
    # came up, so each has run five hours (m5.xlarge at its configured price).
    built = bootstrap(settings_for(tmp_path), clock=FakeClock(datetime.now(UTC)))
    yield built
    built.close()


def running(system: System, name: str, **tags: str) -> UUID:
    command = CreateWorker(name, "eu-west-1", "m5.xlarge", "ada", "c",
                           ami_id="ami-0123456789abcdef0", tags=tags)  # fmt: skip
    worker = create_worker(command, system.store).worker_id
    observe_instance(ObserveInstance(worker, "job:metrics", "m", status=S.RUNNING), system.store)
    return worker


def cycle(system: System) -> object:
    system.read_model.catch_up()
    report = asyncio.run(build_budget_job(system).run(system.clock.now()))
    system.read_model.catch_up()
    return report


def status(system: System, worker: UUID) -> str:
    return system.read_model.get_worker(GetWorker(worker)).status


def test_thresholds_alert_once_by_webhook_and_enforcement_pauses_until_lifted(
    system: System,
) -> None:
    receiver = Receiver(skew=FIVE_HOURS.total_seconds())  # its clock agrees with the fake one
    try:
        delivery = started(system)
        system.webhooks.add(Subscription("money", receiver.url, SECRET, ("budget",)))
        red = running(system, "red-1", **{TEAM_TAG: "red"})
        exempt = running(system, "red-2", **{TEAM_TAG: "red", EXEMPT_TAG: "true"})
        blue = running(system, "blue-1", **{TEAM_TAG: "blue"})
        spent = system.configs.prices.of("m5.xlarge") * 5 * 2  # two red workers, five hours
        system.budgets.put(Budget("red", spent * 0.9, "team:red", (50, 100), enforce=True))
        system.budgets.put(Budget("blue", 100.0, "team:blue", (50,), enforce=True))
        clock = system.clock
        assert isinstance(clock, FakeClock)
        clock.advance(FIVE_HOURS)

        first = cycle(system)
        again = cycle(system)

        assert first.alerts == ("red 50%", "red 100%")  # type: ignore[attr-defined]
        assert (again.alerts, again.paused) == ((), 0)  # type: ignore[attr-defined]
        assert (status(system, red), status(system, exempt), status(system, blue)) == (
            "stopping", "running", "running",
        )  # fmt: skip
        pause = system.read_model.get_worker(GetWorker(red)).pause_history[-1]
        assert (pause.reason, pause.actor) == ("budget", "budget:red")

        assert deliver(system, delivery) == 2
        events = receiver.events()
        assert {e["data"]["threshold"] for e in events} == {50, 100}
        assert all(e["type"] == "io.cml-fleet.budget.threshold.reached" for e in events)
        assert events[0]["data"]["spend"] == pytest.approx(spent, abs=0.02)

        assert system.budgets.lift("red", month_of(clock.now()), "ada", clock.now())
        later = running(system, "red-3", **{TEAM_TAG: "red"})
        lifted = cycle(system)
        assert lifted.paused == 0 and status(system, later) == "running"  # type: ignore[attr-defined]
    finally:
        receiver.close()


class Heard:
    """A change feed that keeps what it is told (the hub's port)."""

    def __init__(self) -> None:
        self.changes: list[SettingsChange] = []

    def announce(self, change: SettingsChange) -> None:
        self.changes.append(change)


def test_each_threshold_reached_is_told_to_live_clients_once(system: System) -> None:
    running(system, "red-1", **{TEAM_TAG: "red"})
    spent = system.configs.prices.of("m5.xlarge") * 5
    system.budgets.put(Budget("red", spent * 0.9, "team:red", (50, 100)))
    clock = system.clock
    assert isinstance(clock, FakeClock)
    clock.advance(FIVE_HOURS)
    heard = Heard()
    job = build_budget_job(system)
    job.feed = heard
    for _ in range(2):  # the second cycle alerts nothing new: tells nothing
        system.read_model.catch_up()
        asyncio.run(job.run(clock.now()))

    told = [(c.type, c.data["threshold"], c.teams) for c in heard.changes]
    red = frozenset({"red"})
    assert told == [("budget.threshold.reached", 50, red), ("budget.threshold.reached", 100, red)]
    for change in heard.changes:
        BudgetThresholdReached.model_validate(change.data)
        assert change.data["budget"] == "red" and change.data["month"] == month_of(clock.now())
