"""After a restart on the same data dir, everything is still there: workers, tokens,
stored idempotent answers, and the history of who did what and why."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import NEW_WORKER, settings_for


def test_a_restarted_server_keeps_workers_tokens_answers_and_history(tmp_path: Path) -> None:
    first = bootstrap(settings_for(tmp_path))
    admin = {"Authorization": f"Bearer {first.auth.create_token(Role.ADMIN, 'alice')}"}
    create = admin | {"Idempotency-Key": "create-1", "X-Correlation-ID": "change-42"}
    with TestClient(create_app(first)) as client:
        created = client.post("/api/workers", json=NEW_WORKER, headers=create).json()
        wid = created["worker_id"]
        client.patch(f"/api/workers/{wid}/tags", json={"add": {"owner": "bob"}}, headers=admin)

    second = bootstrap(settings_for(tmp_path))
    with TestClient(create_app(second)) as client:
        retried = client.post("/api/workers", json=NEW_WORKER, headers=create)
        worker = client.get(f"/api/workers/{wid}?min_position=2", headers=admin)
        history = client.get(f"/api/workers/{wid}/history", headers=admin).json()

    assert retried.json() == created  # the stored answer, not a second worker
    assert worker.status_code == 200
    assert worker.json()["tags"] == {"owner": "bob", "team": "netops"}
    entries = [(e["type"], e["actor"], e["correlation_id"]) for e in history["items"]]
    assert entries[0][:2] == ("worker.tags.changed", "alice")
    assert entries[1] == ("worker.created", "alice", "change-42")
