"""Visibility by team (``VISIBILITY=team``): every endpoint by role by team, and the SSE
stream (live, resumed, resynced). A viewer or operator of team red sees and acts on red
workers only; a worker of another team answers as one that does not exist; an admin
sees all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from application.cml import CmlLab
from domain.tags import TEAM_TAG
from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.integration.test_http_api import NEW_WORKER, settings_for
from tests.integration.test_security_matrix import (
    LAB_ID,
    LADDER,
    QUERIES,
    RULES,
    served_endpoints,
)
from tests.integration.test_sse_stream import Dashboard, Operator, new_system, serving

ROLES = ("viewer", "operator", "admin")


def create(client: TestClient, admin: dict[str, str], team: str | None) -> str:
    tags = {} if team is None else {TEAM_TAG: team}
    body = {**NEW_WORKER, "name": f"lab-{team}", "tags": tags}
    answer = client.post("/api/workers", json=body, headers=admin)
    assert answer.status_code == 202, answer.text
    worker = answer.json()["worker_id"]
    position = answer.json()["position"]
    assert client.get(f"/api/workers/{worker}?min_position={position}", headers=admin).is_success
    return str(worker)


class Teams:
    """Red's viewer, operator and admin; a worker of red, of blue and of no team."""

    def __init__(self, system: System, client: TestClient) -> None:
        self.client = client
        tokens = {
            role.value: system.auth.create_token(role, role.value, teams=["red"]) for role in Role
        }
        self.callers = {
            role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()
        }
        admin = self.callers["admin"]
        self.workers = {team: create(client, admin, team) for team in ("red", "blue", None)}
        labs = {
            w: [CmlLab(LAB_ID, f"lab of {t}", "STARTED", 2, 2)] for t, w in self.workers.items()
        }
        system.labs.replace(labs, datetime.now(UTC))

    def call(self, method: str, path: str, caller: str, worker: str) -> tuple[int, str]:
        url = path.replace("{id}", worker).replace("{lab_id}", LAB_ID).replace("{delivery}", "1")
        url += QUERIES.get(path, "")
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        answer = self.client.request(method, url, headers=self.callers[caller], json=body)
        kind = (
            answer.json().get("type", "")
            if answer.headers.get("content-type", "").endswith("problem+json")
            else ""
        )
        return answer.status_code, kind


@pytest.fixture
def teams(tmp_path: Path, clock: FakeClock) -> Iterator[Teams]:
    settings = settings_for(tmp_path, visibility="team", login_failures_per_minute=1_000_000)
    system = bootstrap(settings, clock=clock)
    with TestClient(create_app(system), follow_redirects=False) as client:
        yield Teams(system, client)


def outcome(status: int, kind: str) -> str:
    assert status < 500, f"server error {status}"
    if status == 404 and kind.endswith("worker-not-found"):
        return "hidden"
    return str(status) if status in {401, 403} else "allowed"


def test_every_worker_endpoint_by_role_and_team(teams: Teams) -> None:
    """Red's people on red's worker: as their role allows; on blue's or on a worker of no
    team: as if it did not exist (their role allowing the call at all)."""
    wrong = []
    endpoints = [e for e in served_endpoints(teams.client) if "{id}" in e[1]]
    assert len(endpoints) > 20  # commands, history, metrics, labs...
    # Ending or deleting things last, so the other calls still find the workers.
    endpoints.sort(key=lambda e: e[0] == "DELETE" or e[1].endswith(("terminate", "release")))
    for method, path in endpoints:
        least = RULES[(method, path)]
        assert least is not None
        for caller in ROLES:
            allowed = LADDER.index(caller) >= LADDER.index(least)
            for team, worker in teams.workers.items():
                got = outcome(*teams.call(method, path, caller, worker))
                if not allowed:
                    want = "403"
                elif caller == "admin" or team == "red":
                    want = "allowed"
                else:
                    want = "hidden"
                if got != want:
                    wrong.append(f"{method} {path} as red {caller} on {team}: {got}, want {want}")

    assert not wrong, "\n".join(wrong)


def test_every_other_endpoint_answers_red_as_the_role_table_says(teams: Teams) -> None:
    """The endpoints about no single worker: the role table holds under team visibility
    (what they show is narrowed, tested below), except the fleet's Prometheus figures,
    which name every team's workers: an admin's."""
    wrong = []
    endpoints = [e for e in served_endpoints(teams.client) if "{id}" not in e[1]]
    for method, path in endpoints:
        if (method, path) in {("POST", "/logout"), ("GET", "/api/events")}:
            continue  # ends the session / streams: covered on their own
        least = RULES[(method, path)]
        for caller in ROLES:
            if (method, path) == ("GET", "/metrics"):
                want = "allowed" if caller == "admin" else "403"
            elif least is None or LADDER.index(caller) >= LADDER.index(least):
                want = "allowed"
            else:
                want = "403"
            got = outcome(*teams.call(method, path, caller, teams.workers["red"]))
            if got != want:
                wrong.append(f"{method} {path} as red {caller}: {got}, want {want}")
            teams.client.cookies.clear()

    assert not wrong, "\n".join(wrong)


def names(answer: Any) -> list[str]:
    return sorted(w["name"] for w in answer.json()["items"])


def test_lists_summary_and_labs_show_only_the_teams_workers(teams: Teams) -> None:
    viewer, admin = teams.callers["viewer"], teams.callers["admin"]
    get = teams.client.get

    assert names(get("/api/workers", headers=viewer)) == ["lab-red"]
    assert get("/api/workers", headers=viewer).json()["total"] == 1
    assert names(get("/api/workers?q=lab", headers=viewer)) == ["lab-red"]
    assert names(get("/api/workers", headers=admin)) == ["lab-None", "lab-blue", "lab-red"]
    summary = get("/api/fleet/summary?per_worker=true", headers=viewer).json()
    assert summary["total"] == 1
    every = get("/api/fleet/summary?per_worker=true", headers=admin).json()
    # Only the red worker's ledger counts for red (created workers have no running time
    # yet, so compare with the admin's list).
    red_costs = [w["name"] for w in every["cost"]["workers"] if w["name"] == "lab-red"]
    assert [w["name"] for w in summary["cost"]["workers"]] == red_costs
    assert get("/api/fleet/summary", headers=admin).json()["total"] == 3
    labs = get("/api/labs", headers=viewer).json()["items"]
    assert [lab["title"] for lab in labs] == ["lab of red"]
    assert len(get("/api/labs", headers=admin).json()["items"]) == 3
    me = get("/api/me", headers=viewer).json()
    assert (me["teams"], me["sees_all"]) == (["red"], False)
    assert get("/api/me", headers=admin).json()["sees_all"] is True


def test_the_fleets_prometheus_figures_are_an_admins_under_team_visibility(
    teams: Teams,
) -> None:
    refused = teams.client.get("/metrics", headers=teams.callers["operator"])

    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert teams.client.get("/metrics", headers=teams.callers["admin"]).status_code == 200


def test_a_viewer_with_no_team_sees_no_worker(teams: Teams, tmp_path: Path) -> None:
    system = teams.client.app.state.system  # type: ignore[attr-defined]
    lonely = {"Authorization": f"Bearer {system.auth.create_token(Role.VIEWER, 'lone')}"}

    assert teams.client.get("/api/workers", headers=lonely).json()["items"] == []
    assert teams.client.get("/api/fleet/summary", headers=lonely).json()["total"] == 0


def test_moving_a_worker_hands_it_to_the_other_team(teams: Teams) -> None:
    viewer, admin = teams.callers["viewer"], teams.callers["admin"]
    blue = teams.workers["blue"]

    moved = teams.client.put(f"/api/workers/{blue}/team", json={"team": "red"}, headers=admin)
    position = moved.json()["position"]

    assert moved.status_code == 200
    seen = teams.client.get(f"/api/workers/{blue}?min_position={position}", headers=viewer)
    assert seen.status_code == 200 and seen.json()["team"] == "red"
    history = teams.client.get(f"/api/workers/{blue}/history", headers=viewer).json()["items"]
    assert history[0]["type"] == "worker.team.changed"
    assert history[0]["data"]["previous"] == "blue" if "data" in history[0] else True


@pytest.mark.parametrize("bad", [{"team": ""}, {"team": "x" * 65}, {"team": "a\nb"}, {}, []])
def test_a_bad_team_is_refused_and_changes_nothing(teams: Teams, bad: Any) -> None:
    worker, admin = teams.workers["red"], teams.callers["admin"]

    answer = teams.client.put(f"/api/workers/{worker}/team", json=bad, headers=admin)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert teams.client.get(f"/api/workers/{worker}", headers=admin).json()["team"] == "red"


def test_a_tag_patch_cannot_move_a_worker(teams: Teams) -> None:
    worker, admin = teams.workers["red"], teams.callers["admin"]

    answer = teams.client.patch(
        f"/api/workers/{worker}/tags", json={"add": {TEAM_TAG: "blue"}}, headers=admin
    )

    assert answer.status_code == 422 and "team" in answer.json()["detail"]


# -- the stream -------------------------------------------------------------------------


OFF, ON = {"enabled": False}, {"enabled": True}
TOGGLED = "worker.idle_detection.toggled"


def about(frames: list[Any]) -> set[str]:
    return {f.data.get("worker_id") or f.data.get("id") for f in frames if f.event != "hello"}


async def test_the_stream_carries_only_the_teams_workers_live_resumed_and_resynced(
    tmp_path: Path,
) -> None:
    system = new_system(tmp_path, visibility="team")
    red_viewer = system.auth.create_token(Role.VIEWER, "rita", teams=["red"])
    async with serving(system) as server:
        admin = Operator(server)
        red, _ = await admin.import_worker("red-1")
        blue, _ = await admin.import_worker("blue-1")
        await admin.call("PUT", f"/api/workers/{red}/team", {"team": "red"})
        answer = await admin.call("PUT", f"/api/workers/{blue}/team", {"team": "blue"})
        await admin.call("GET", f"/api/workers/{blue}?min_position={answer['position']}")

        async with Dashboard(server, token=red_viewer) as dashboard:
            hello = await dashboard.next()
            assert hello.event == "hello" and hello.data["workers"] == 1
            snapshot = await dashboard.next()
            assert snapshot.data["id"] == red
            # Live: blue's change never arrives; red's does.
            await admin.call("PUT", f"/api/workers/{blue}/idle-detection", OFF)
            await admin.call("PUT", f"/api/workers/{red}/idle-detection", OFF)
            changed = await dashboard.next()
            assert (changed.event, changed.data["worker_id"]) == (TOGGLED, red)
            # Red's worker moves to blue: red hears it leave, then nothing more of it.
            await admin.call("PUT", f"/api/workers/{red}/team", {"team": "blue"})
            frames = await dashboard.until("worker.team.changed")
            assert about(frames) == {red} and frames[-1].data["previous"] == "red"
            await admin.call("PUT", f"/api/workers/{red}/idle-detection", ON)
            # Blue's worker moves to red: red hears it arrive, then its changes.
            await admin.call("PUT", f"/api/workers/{blue}/team", {"team": "red"})
            arrived = await dashboard.until("worker.team.changed")
            assert about(arrived) == {blue}
            last_id = arrived[-1].id

        async with Dashboard(server, token=red_viewer, last_event_id="1") as resumed:
            await admin.call("PUT", f"/api/workers/{blue}/idle-detection", OFF)
            replayed = await resumed.until(TOGGLED)
        # Replayed: only what is about red's workers now (blue-1), and red-1's move away.
        moved_away = [f for f in replayed if f.data.get("worker_id") == red]
        assert {f.event for f in moved_away} == {"worker.team.changed"}
        assert about(replayed) == {red, blue}

        blue_operator = system.auth.create_token(Role.OPERATOR, "otto", teams=["blue"])
        for token, sees in ((blue_operator, {red}), (server.admin, {red, blue})):
            async with Dashboard(server, token=token) as other:
                hello = await other.next()
                shown = {(await other.next()).data["id"] for _ in range(hello.data["workers"])}
                assert shown == sees

        async with Dashboard(server, token=red_viewer, last_event_id="999999") as resync:
            first = await resync.next()
            assert first.event == "stream.resync" and first.data["workers"] == 1
            assert (await resync.next()).data["id"] == blue
        assert last_id is not None
        await admin.close()


def test_budgets_and_daily_costs_show_only_the_teams(teams: Teams) -> None:
    viewer, admin = teams.callers["viewer"], teams.callers["admin"]
    client = teams.client
    for name, scope in (("red", "team:red"), ("blue", "team:blue"), ("all", "fleet")):
        body = {"amount": 100.0, "scope": scope}
        assert client.put(f"/api/budgets/{name}", json=body, headers=admin).status_code == 200

    seen = [b["name"] for b in client.get("/api/budgets", headers=viewer).json()["items"]]
    every = [b["name"] for b in client.get("/api/budgets", headers=admin).json()["items"]]

    assert (seen, every) == (["red"], ["all", "blue", "red"])
    hidden = client.get("/api/budgets/blue", headers=viewer)
    assert hidden.status_code == 404 and hidden.json()["type"].endswith(":budget-not-found")
    assert client.get("/api/fleet/daily-costs", headers=viewer).status_code == 200
