"""Changes to the fleet's settings — schedules, budgets, webhook subscriptions — told to
live clients (SSE frames ``schedule.changed``, ``budget.changed``,
``budget.threshold.reached``, ``webhook.changed``) as they happen.

They are not in the event log (a worker's history holds what they *did* to it): a
client that was away refetches the lists after it reconnects. Each change says who may
see it: under ``VISIBILITY=team`` a team's budget reaches that team (and admins), a
fleet or tag budget only admins (it adds up every team's costs), as ``/api/budgets``
answers; webhook subscriptions are for admins alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

SCHEDULE_CHANGED = "schedule.changed"
BUDGET_CHANGED = "budget.changed"
BUDGET_THRESHOLD = "budget.threshold.reached"
WEBHOOK_CHANGED = "webhook.changed"
CHANGE_TYPES = (SCHEDULE_CHANGED, BUDGET_CHANGED, BUDGET_THRESHOLD, WEBHOOK_CHANGED)


@dataclass(frozen=True)
class SettingsChange:
    """One change, as its frame's payload and who may see it."""

    type: str
    subject: str
    """The schedule's, budget's or webhook's name."""
    data: Mapping[str, Any]
    view: str | None = None
    """The key of ``data`` holding the whole view: sent as null when too large to pass
    between processes (the client then reads it)."""
    teams: frozenset[str] | None = None
    """Under team visibility, the teams that see it (``None``: everyone; empty: admins)."""
    admins_only: bool = False

    def without_view(self) -> SettingsChange:
        if self.view is None:
            return self
        return SettingsChange(
            self.type, self.subject, {**self.data, self.view: None}, None,
            self.teams, self.admins_only,
        )  # fmt: skip


class ChangeFeed(Protocol):
    """The SSE hub, as the application tells it of a change (on the event loop)."""

    def announce(self, change: SettingsChange) -> None: ...


def schedule_changed(
    name: str, change: str, by: str, at: str, view: Mapping[str, Any] | None
) -> SettingsChange:
    """``change``: ``saved`` or ``removed`` (then no view)."""
    data = {"name": name, "change": change, "by": by, "at": at, "schedule": view}
    return SettingsChange(SCHEDULE_CHANGED, name, data, "schedule")


def budget_teams(scope: str) -> frozenset[str]:
    """Who sees a budget of ``scope`` under team visibility (besides admins)."""
    return frozenset({scope.removeprefix("team:")}) if scope.startswith("team:") else frozenset()


def budget_changed(
    name: str, scope: str, change: str, by: str, at: str, view: Mapping[str, Any] | None
) -> SettingsChange:
    """``change``: ``saved``, ``lifted`` or ``removed`` (then no view)."""
    data = {"name": name, "change": change, "by": by, "at": at, "budget": view}
    return SettingsChange(BUDGET_CHANGED, name, data, "budget", budget_teams(scope))


def threshold_reached(alert: Mapping[str, Any], at: str) -> SettingsChange:
    """From the alert's webhook payload (``budget``, ``scope``, ``threshold``, …)."""
    data = {k: v for k, v in alert.items() if k not in ("type", "actor")} | {"at": at}
    return SettingsChange(
        BUDGET_THRESHOLD, str(alert["budget"]), data, None, budget_teams(str(alert["scope"]))
    )


def webhook_changed(
    name: str, change: str, by: str, at: str, view: Mapping[str, Any] | None
) -> SettingsChange:
    """``change``: ``created`` or ``removed`` (then no view). Admins only."""
    data = {"id": name, "change": change, "by": by, "at": at, "webhook": view}
    return SettingsChange(WEBHOOK_CHANGED, name, data, "webhook", admins_only=True)
