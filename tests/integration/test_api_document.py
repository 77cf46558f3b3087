"""The API document says what the server enforces, and the server enforces what it says.
Each case here is one the previous release got wrong: a route or parameter the document
left out, a value it called valid that the server refused (or a 500), a value it
called invalid that the server took. ``test_api_conformance`` has schemathesis look for
more, with all its checks, against a served process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import Api, settings_for
from tests.integration.test_input_rules import NEW, refused


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=2.0))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


@pytest.fixture
def doc(api: Api) -> dict[str, Any]:
    answer: dict[str, Any] = api.client.get("/api/openapi.json", headers=api.viewer).json()
    return answer


def served(api: Api) -> set[tuple[str, str]]:
    routes = [r for r in api.client.app.routes if isinstance(r, Route)]  # type: ignore[attr-defined]
    return {
        (method, route.path_format)
        for route in routes
        for method in (route.methods or set()) - {"HEAD"}
    }


def test_every_served_route_is_documented_and_nothing_else(api: Api, doc: dict[str, Any]) -> None:
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    two_public_files = {("GET", "/static/app.css"), ("GET", "/static/favicon.svg")}
    assert documented - two_public_files == served(api)
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, operation in ops.items():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == names, (method, path)  # every path parameter, no other
            assert "See notes/" not in str(operation["responses"]), (method, path)


def test_the_documented_regions_are_the_clouds(api: Api, doc: dict[str, Any]) -> None:
    region = doc["components"]["schemas"]["CreateWorkerRequest"]["properties"]["region"]
    assert "eu-west-1" in region["enum"] and "aa-a-0" not in region["enum"]


def parameter(doc: dict[str, Any], path: str, name: str, method: str = "get") -> Any:
    params = doc["paths"][path][method]["parameters"]
    return next(p["schema"] for p in params if p["name"] == name)


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/api/workers", "min_position", "²"),  # a digit to str.isdigit, not to int(): was 500
        ("/api/workers", "min_position", "-1"),
        ("/api/workers", "limit", "0"),
        ("/api/workers", "sort", "cpu"),
        ("/api/workers", "status", ""),
        ("/api/workers", "status", "running,,stopped"),
        ("/api/workers", "cursor", "eyJub3QiOiAiYSBjdXJzb3IifQ"),
        ("/api/fleet/summary", "per_worker", "banana"),  # was taken as false
        ("/api/fleet/summary", "per_worker", "TRUE"),  # the enum's spellings only
        ("/api/workers/{id}/history", "before_version", "0"),
        ("/api/workers/{id}/metrics", "since", "2026-12-04 08:00:00Z"),  # RFC 3339 wants T
        ("/api/workers/{id}/metrics", "since", "٢٠٢٦-12-04T08:00:00Z"),  # digits: ASCII
    ],
)
def test_a_value_the_document_calls_invalid_is_refused(
    api: Api, doc: dict[str, Any], path: str, name: str, value: str
) -> None:
    schema = parameter(doc, path, name)
    checked = value if schema.get("type") != "integer" else _integer(value)
    item = schema["items"] if schema.get("type") == "array" else schema
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(checked, item, format_checker=jsonschema.FormatChecker())
    target = path.replace("{id}", api.create()["worker_id"])
    body = refused(api, 422, "GET", target, params={name: value})
    assert [e["field"] for e in body["errors"]] == [name]


def _integer(value: str) -> object:
    try:
        return int(value)
    except ValueError:
        return value


def test_a_bad_correlation_id_is_refused_not_silently_replaced(api: Api) -> None:
    for bad in ("c" * 129, "bad id", ""):
        answer = api.client.get("/healthz", headers={"X-Correlation-ID": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["field"] == "X-Correlation-ID"
    kept = api.client.get("/healthz", headers={"X-Correlation-ID": "ticket:4711.a_b-c"})
    assert kept.headers["x-correlation-id"] == "ticket:4711.a_b-c"


def test_a_path_that_is_not_a_worker_id_gets_the_405_of_its_own_route(api: Api) -> None:
    answer = api.client.get("/api/workers/import", headers=api.admin)
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"


def test_any_cursor_of_the_documented_form_continues_a_listing(api: Api) -> None:
    last = [api.create(name=f"lab-{n}") for n in range(3)][-1]
    query = f"limit=2&sort=-name&min_position={last['position']}"
    first = api.client.get(f"/api/workers?{query}", headers=api.viewer).json()
    cursor = first["next_cursor"]
    rest = api.client.get(f"/api/workers?limit=2&cursor={cursor}", headers=api.viewer).json()
    assert [w["name"] for w in first["items"] + rest["items"]] == ["lab-2", "lab-1", "lab-0"]
    made_up = "name.a." + b"lab-0".hex() + "." + "f" * 32  # after lab-0, by hand
    answer = api.client.get(f"/api/workers?cursor={made_up}", headers=api.viewer)
    assert answer.status_code == 200 and [w["name"] for w in answer.json()["items"]] == [
        "lab-1",
        "lab-2",
    ]


def test_a_whole_number_written_with_a_fraction_is_an_integer(api: Api) -> None:
    """JSON Schema's integer: 30.0 is 30 (30.5 and "30" stay refused: test_input_rules)."""
    worker = api.create()["worker_id"]
    body = {"enabled": True, "timeout_minutes": 30.0}
    answer = api.client.put(
        f"/api/workers/{worker}/idle-detection", json=body, headers=api.operator
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("name", " " * 3, 422),
        ("name", " lab " + "x" * 96, 422),  # 101 as sent: the document's maxLength counts it
        ("name", " lab-9 ", 202),  # kept as lab-9
        ("launch_template", "x", 422),  # AWS: 3 to 128 of A-Z a-z 0-9 ( ) . - / _
        ("tags", {"ok": "a&b"}, 422),
        ("tags", {"Ünterricht": "Kürs"}, 202),  # letters beyond ASCII: EC2 takes them
    ],
)
def test_text_rules_are_the_documents(api: Api, field: str, value: Any, status: int) -> None:
    body = NEW | {field: value}
    answer = api.client.post("/api/workers", json=body, headers=api.admin)
    assert answer.status_code == status, answer.text
    if status == 202 and field == "name":
        assert api.worker(answer.json())["name"] == "lab-9"


def test_an_admin_cannot_revoke_the_token_the_request_is_made_with(tmp_path: Path) -> None:
    system = bootstrap(settings_for(tmp_path))
    token = system.auth.create_token(Role.ADMIN, "ann")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(system)) as client:
        own = client.get("/api/admin/tokens", headers=headers).json()["items"][0]["id"]
        answer = client.delete(f"/api/admin/tokens/{own}", headers=headers)
        still = client.get("/api/admin/tokens", headers=headers)
    assert answer.status_code == 409 and "cml-fleet token revoke" in answer.json()["detail"]
    assert still.status_code == 200
