"""``/api/budgets``: monthly budgets with this month's spend and forecast (any role reads,
admins define, remove and lift them), and ``/api/fleet/daily-costs``: the running cost
per day this month, for the dashboard's chart (notes/BUDGETS.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from application.budgets import Budget, Standing, budget_from, cost_by_day, month_of, standing
from application.changes import budget_changed
from application.contracts.requests import BudgetRequest
from application.contracts.responses import (
    BudgetList,
    BudgetView,
    DailyCost,
    DailyCosts,
)
from application.mapper import rfc3339
from domain.schedules import schedule_name
from infrastructure.http.handling import actor, json_response, parse_body, reading
from infrastructure.http.problems import problem
from infrastructure.http.visibility import teams_seen


def _name(request: Request) -> str:
    return schedule_name(str(request.path_params["name"]))


def _seen(request: Request, budget: Budget) -> bool:
    """Under ``VISIBILITY=team`` a viewer or operator sees only their teams' budgets (a
    fleet or tag budget adds up every team's costs); admins see all."""
    teams = teams_seen(request)
    return teams is None or (
        budget.scope.removeprefix("team:") in teams and budget.scope.startswith("team:")
    )


def _not_found(request: Request, name: str) -> Response:
    return problem(request, 404, f"no budget named {name!r}", kind="budget-not-found")


def _view(s: Standing, currency: str, alerted: list[int], lifted_by: str | None) -> BudgetView:
    b = s.budget
    return BudgetView(
        name=b.name, amount=b.amount, scope=b.scope, thresholds=list(b.thresholds),
        enforce=b.enforce, currency=currency, month=s.month, spend=s.spend,
        forecast=s.forecast, percent=s.percent, alerted=alerted, lifted_by=lifted_by,
        workers=len(s.workers),
    )  # fmt: skip


async def _views(request: Request, budgets: list[Budget]) -> list[BudgetView]:
    if not budgets:  # nothing to weigh: not a whole fleet's workers and ledgers decoded
        return []
    system = reading(request)
    now = system.clock.now()
    month = month_of(now)

    def compute() -> list[BudgetView]:
        workers = system.read_model.all_workers(include_terminated=True)
        ledgers = {ledger.worker_id: ledger for ledger in system.read_model.cost_ledgers()}
        alerts = system.budgets.alerts(month)
        lifted = system.budgets.lifted(month)
        prices = system.configs.prices
        return [
            _view(
                standing(b, workers, ledgers, prices, now), prices.currency,
                [a.threshold for a in alerts if a.budget == b.name], lifted.get(b.name),
            )
            for b in budgets
        ]  # fmt: skip

    return await system.run_sync(compute)


async def list_budgets(request: Request) -> Response:
    system = reading(request)
    budgets = [b for b in await system.run_sync(system.budgets.all) if _seen(request, b)]
    body = BudgetList(items=await _views(request, budgets))
    return json_response(body.model_dump_json().encode())


async def get_budget(request: Request) -> Response:
    name, system = _name(request), reading(request)
    found = await system.run_sync(system.budgets.get, name)
    if found is None or not _seen(request, found):
        return _not_found(request, name)
    (view,) = await _views(request, [found])
    return json_response(view.model_dump_json().encode())


async def put_budget(request: Request) -> Response:
    name, system = _name(request), reading(request)
    body = await parse_body(request, BudgetRequest)
    budget = budget_from(name, body.model_dump())
    await system.run_sync(system.budgets.put, budget)
    (view,) = await _views(request, [budget])
    _announce(request, budget, "saved", view)
    return json_response(view.model_dump_json().encode())


async def delete_budget(request: Request) -> Response:
    name, system = _name(request), reading(request)
    found = await system.run_sync(system.budgets.get, name)
    if found is None or not await system.run_sync(system.budgets.remove, name):
        return _not_found(request, name)
    _announce(request, found, "removed", None)
    return Response(status_code=204)


async def lift_budget(request: Request) -> Response:
    """Stop enforcing the budget for the rest of this month (workers already paused stay
    paused: resume them)."""
    name, system = _name(request), reading(request)
    found = await system.run_sync(system.budgets.get, name)
    if found is None:
        return _not_found(request, name)
    now = system.clock.now()
    month = month_of(now)
    if not await system.run_sync(system.budgets.lift, name, month, actor(request), now):
        return problem(request, 409, f"budget {name!r} is already lifted for {month}",
                       kind="budget-already-lifted")  # fmt: skip
    (view,) = await _views(request, [found])
    _announce(request, found, "lifted", view)
    return json_response(view.model_dump_json().encode())


def _announce(request: Request, budget: Budget, change: str, view: BudgetView | None) -> None:
    system = reading(request)
    at = rfc3339(system.clock.now()) or ""
    shown = None if view is None else view.model_dump(mode="json")
    by = actor(request)
    system.hub.announce(budget_changed(budget.name, budget.scope, change, by, at, shown))


async def daily_costs(request: Request) -> Response:
    system = reading(request)
    now = system.clock.now()
    month = month_of(now)
    teams = teams_seen(request)

    def compute() -> DailyCosts:
        ledgers = system.read_model.cost_ledgers()
        if teams is not None:
            members = {w.id for w in system.read_model.all_workers(include_terminated=True)
                       if w.team in teams}  # fmt: skip
            ledgers = [ledger for ledger in ledgers if ledger.worker_id in members]
        days = cost_by_day(ledgers, system.configs.prices, month, now)
        return DailyCosts(
            currency=system.configs.prices.currency, month=month,
            days=[DailyCost(day=d, cost=c) for d, c in days],
            total=round(sum(c for _, c in days), 2),
        )  # fmt: skip

    return json_response((await system.run_sync(compute)).model_dump_json().encode())
