"""GET /api/openapi.json documents every operation from the same table as the routes."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.http.routes import OPERATIONS
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import settings_for


def test_the_openapi_document_describes_every_operation_and_its_contracts(
    tmp_path: Path,
) -> None:
    system = bootstrap(settings_for(tmp_path))
    viewer = {"Authorization": f"Bearer {system.auth.create_token(Role.VIEWER, 'v')}"}
    with TestClient(create_app(system)) as client:
        doc = client.get("/api/openapi.json", headers=viewer).json()
        anonymous = client.get("/api/openapi.json")

    assert anonymous.status_code == 401
    assert doc["openapi"].startswith("3.1")
    for op in OPERATIONS:
        assert op.method.lower() in doc["paths"][op.path], (op.method, op.path)
    create = doc["paths"]["/api/workers"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateWorkerRequest"
    }
    assert "202" in create["responses"] and "422" in create["responses"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert {"bearer", "session"} <= set(doc["components"]["securitySchemes"])
    schemas = doc["components"]["schemas"]
    assert {"WorkerView", "CommandAccepted", "ProblemDetails", "ActivityView"} <= set(schemas)
    assert "/login" in doc["paths"]


def test_every_refusal_the_middleware_can_answer_is_declared_where_it_can_happen(
    tmp_path: Path,
) -> None:
    system = bootstrap(settings_for(tmp_path, login_failures_per_minute=2))
    viewer = {"Authorization": f"Bearer {system.auth.create_token(Role.VIEWER, 'v')}"}
    with TestClient(create_app(system)) as client:
        doc = client.get("/api/openapi.json", headers=viewer).json()
        too_big = client.get("/api/workers", headers=viewer | {"X-Padding": "x" * 40_000})
        guesses = [
            client.get("/api/workers", headers={"Authorization": "Bearer wrong-guess"})
            for _ in range(3)
        ]

    problem = {"$ref": "#/components/schemas/ProblemDetails"}
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            for status in ("413", "429", "431"):
                assert status in responses, (method, path, status)
                content = responses[status]["content"]
                assert content == {"application/problem+json": {"schema": problem}}
            assert "Retry-After" in responses["429"]["headers"]

    declared = doc["paths"]["/api/workers"]["get"]["responses"]
    refused = guesses[-1]
    assert [g.status_code for g in guesses] == [401, 401, 429]
    for answer in (too_big, refused):
        assert str(answer.status_code) in declared
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == answer.status_code
    assert int(refused.headers["Retry-After"]) >= 1
