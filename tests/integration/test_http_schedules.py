"""``/api/schedules``: admins define, change and remove office-hours schedules; every
role reads them with where each stands now; bad ones are refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import settings_for

OFFICE = {
    "timezone": "Europe/Amsterdam",
    "periods": [{"days": "mon-fri", "start": "08:00", "end": "18:00"}],
    "exceptions": [
        {"date": "2026-12-25"},
        {"date": "2026-12-19", "start": "18:00", "end": "21:00"},
    ],
    "off": "pause",
    "lead_minutes": 20,
}


def period(days: str, start: str, end: str) -> dict[str, str]:
    return {"days": days, "start": start, "end": end}


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def call(self, role: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, path, json=body, headers=headers)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    clock = FakeClock(datetime(2026, 12, 4, 16, 0, tzinfo=UTC))  # Friday 17:00 in Amsterdam
    system = bootstrap(settings_for(tmp_path), clock=clock)
    tokens = {r.value: system.auth.create_token(r, r.value) for r in Role}
    with TestClient(create_app(system)) as client:
        yield Api(client, tokens)


def test_an_admin_defines_a_schedule_and_everyone_reads_where_it_stands(api: Api) -> None:
    put = api.call("admin", "PUT", "/api/schedules/office", OFFICE)

    assert put.status_code == 200
    view = api.call("viewer", "GET", "/api/schedules/office").json()
    assert view["periods"] == [{"days": "mon,tue,wed,thu,fri", "start": "08:00", "end": "18:00"}]
    assert (view["off"], view["lead_minutes"], view["grace_minutes"]) == ("pause", 20, 30)
    assert view["on_now"] is True and view["next_change"] == "2026-12-04T17:00:00.000Z"
    listed = api.call("operator", "GET", "/api/schedules").json()["items"]
    assert [s["name"] for s in listed] == ["office"]


def test_changing_and_removing_a_schedule(api: Api) -> None:
    api.call("admin", "PUT", "/api/schedules/office", OFFICE)

    evenings = {"timezone": "UTC", "periods": [{"days": "sat", "start": "18:00", "end": "22:00"}]}
    assert api.call("admin", "PUT", "/api/schedules/office", evenings).json()["timezone"] == "UTC"
    assert api.call("admin", "DELETE", "/api/schedules/office").status_code == 204
    gone = api.call("viewer", "GET", "/api/schedules/office")
    assert gone.status_code == 404 and gone.json()["type"].endswith("schedule-not-found")
    assert api.call("admin", "DELETE", "/api/schedules/office").status_code == 404


def test_only_an_admin_changes_schedules(api: Api) -> None:
    for role in ("viewer", "operator"):
        assert api.call(role, "PUT", "/api/schedules/office", OFFICE).status_code == 403
        assert api.call(role, "DELETE", "/api/schedules/office").status_code == 403
    assert api.call("viewer", "GET", "/api/schedules").json()["items"] == []


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("office", {**OFFICE, "timezone": "Mars/Olympus"}, "timezone"),
        (
            "office",
            {**OFFICE, "periods": [{"days": "weekdays", "start": "08:00", "end": "18:00"}]},
            "days",
        ),
        (
            "office",
            {**OFFICE, "periods": [{"days": "mon", "start": "8:00", "end": "18:00"}]},
            "start",
        ),
        ("office", {**OFFICE, "exceptions": [{"date": "2026-02-30"}]}, "date"),
        (
            "office",
            {**OFFICE, "exceptions": [{"date": "2026-12-24", "start": "18:00"}]},
            "exceptions",
        ),
        ("office", {**OFFICE, "timezone": "America"}, "timezone"),  # a folder of zones
        ("office", {**OFFICE, "off": "hibernate"}, "off"),
        ("office", {**OFFICE, "lead_minutes": -5}, "lead_minutes"),
        ("office", {**OFFICE, "colour": "blue"}, "colour"),
        ("Office Hours", OFFICE, "name"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field_and_nothing_is_stored(
    api: Api, name: str, body: dict[str, Any], field: str
) -> None:
    answer = api.call("admin", "PUT", f"/api/schedules/{name}", body)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in answer.text
    assert api.call("viewer", "GET", "/api/schedules").json()["items"] == []


def worker_id(api: Api) -> str:
    body = {"name": "lab-1", "region": "eu-west-1", "instance_type": "m5.xlarge",
            "ami_id": "ami-0123456789abcdef0"}  # fmt: skip
    answer = api.call("admin", "POST", "/api/workers", body).json()
    api.call(
        "admin", "GET", f"/api/workers/{answer['worker_id']}?min_position={answer['position']}"
    )
    return str(answer["worker_id"])


def test_an_operator_overrides_a_workers_schedule_until_a_time(api: Api) -> None:
    worker = worker_id(api)

    kept = api.call("operator", "PUT", f"/api/workers/{worker}/schedule-override",
                    {"until": "2026-12-04T22:00:00+01:00"})  # fmt: skip
    refused = api.call("viewer", "PUT", f"/api/workers/{worker}/schedule-override",
                       {"until": "2026-12-04T22:00:00+01:00"})  # fmt: skip
    view = api.call(
        "viewer", "GET", f"/api/workers/{worker}?min_position={kept.json()['position']}"
    )

    assert kept.status_code == 200 and refused.status_code == 403
    assert view.json()["schedule_override_until"] == "2026-12-04T21:00:00.000Z"
    history = api.call("viewer", "GET", f"/api/workers/{worker}/history").json()["items"]
    assert (history[0]["type"], history[0]["actor"]) == ("worker.schedule.overridden", "operator")


@pytest.mark.parametrize(
    ("until", "status"),
    [
        ("2026-12-04T15:00:00Z", 409),  # past: refused for now
        ("2026-12-20T12:00:00Z", 409),  # more than a week ahead
        ("2026-12-04T22:00:00", 422),  # no offset
        ("tonight", 422),
        (1796470000, 422),
    ],
)
def test_a_bad_override_is_refused_and_changes_nothing(api: Api, until: Any, status: int) -> None:
    worker = worker_id(api)

    answer = api.call("operator", "PUT", f"/api/workers/{worker}/schedule-override",
                      {"until": until})  # fmt: skip

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "until" in answer.text
    view = api.call("viewer", "GET", f"/api/workers/{worker}").json()
    assert view["schedule_override_until"] is None
