"""GET /api/openapi.json documents every operation from the same table as the routes."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from infrastructure.bootstrap import bootstrap
from infrastructure.http.app import create_app
from infrastructure.http.auth import Role
from infrastructure.http.routes import OPERATIONS
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
