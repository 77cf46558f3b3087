"""The fleet summary says what the fleet cost while running and what auto-pause saved,
per worker and in total, at the configured prices; the figures come from the events'
times, so rebuilding the read model gives the same ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from starlette.testclient import TestClient

from domain.status import PauseReason, WorkerStatus
from domain.worker import CMLWorker
from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
WHO = {"actor": "history", "correlation_id": "c-past"}
S = WorkerStatus


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def running_since_t0(name: str, instance_type: str) -> CMLWorker:
    """A worker imported running at T0 (its history written with its own times)."""
    worker: CMLWorker = CMLWorker._create(
        CMLWorker.Imported,
        id=uuid4(),
        timestamp=at(0),
        name=name,
        region="eu-west-1",
        instance_type=instance_type,
        ami_id=None,
        instance_id=f"i-{uuid4().hex[:17]}",
        observed=S.RUNNING,
        tags={},
        idle_detection_enabled=True,
        idle_timeout_minutes=None,
        **WHO,
    )
    return worker


def auto_paused(worker: CMLWorker, hours: float) -> None:
    worker.trigger_event(
        CMLWorker.Paused,
        reason=PauseReason.IDLE_TIMEOUT,
        at=at(hours),
        idle_minutes=60.0,
        timestamp=at(hours),
        **WHO,
    )
    stopped = {"previous": S.STOPPING, "status": S.STOPPED, "timestamp": at(hours + 0.5)}
    worker.trigger_event(CMLWorker.StatusChanged, **stopped, **WHO)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    settings = Settings(
        data_dir=tmp_path,
        demo_workers=0,
        scheduler_enabled=False,
        operations_enabled=False,
        instance_hourly_prices={"m5.xlarge": 0.192, "c5.9xlarge": 1.53},
        cost_currency="USD",
    )
    system = bootstrap(settings, clock=FakeClock(at(10)))
    idle = running_since_t0("idle-lab", "m5.xlarge")
    auto_paused(idle, 2)  # running 0-2 h, then paused (saving) up to now, 10 h
    busy = running_since_t0("busy-lab", "c5.9xlarge")  # running all 10 h
    system.store.save(idle, busy)
    yield system


def summary(system: System, query: str = "") -> dict[str, Any]:
    with TestClient(create_app(system)) as client:
        token = system.auth.create_token(Role.VIEWER, "vic")
        position = system.store.max_position()
        answer = client.get(
            f"/api/fleet/summary?min_position={position}{query}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_summary_shows_running_and_saved_hours_with_their_money(system: System) -> None:
    cost = summary(system)["cost"]

    assert cost["currency"] == "USD" and cost["as_of"] == "2026-03-02T10:00:00.000Z"
    assert (cost["running_hours"], cost["saved_hours"]) == (12.0, 8.0)
    assert cost["running_cost"] == round(2 * 0.192 + 10 * 1.53, 2)
    assert cost["saved_cost"] == round(8 * 0.192, 2)
    assert cost["workers"] is None


def test_each_worker_s_share_on_request(system: System) -> None:
    answer = summary(system, "&per_worker=true")

    assert answer["total"] == 2 and answer["by_status"]["running"] == 1
    workers = {w["name"]: w for w in answer["cost"]["workers"]}
    assert workers["idle-lab"] | {"worker_id": None} == {
        "worker_id": None,
        "name": "idle-lab",
        "instance_type": "m5.xlarge",
        "hourly_price": 0.192,
        "running_hours": 2.0,
        "running_cost": 0.38,
        "saved_hours": 8.0,
        "saved_cost": 1.54,
    }
    assert (workers["busy-lab"]["running_hours"], workers["busy-lab"]["saved_hours"]) == (10, 0)


def test_rebuilding_the_read_model_gives_the_same_figures(system: System) -> None:
    before = summary(system, "&per_worker=true")["cost"]

    system.read_model.rebuild()

    assert summary(system, "&per_worker=true")["cost"] == before
