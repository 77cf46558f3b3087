"""The operations engine as a new user meets it, on the simulated fleet with a fake
clock, through the REST API and a live dashboard stream (real uvicorn on 127.0.0.1):

an idle worker shows its countdown, then pauses on its own with reason idle_timeout, in
its history and over SSE; resuming it starts the snooze; a worker started in "the AWS
console" shows up as an external resume."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_sse_stream import (
    Dashboard,
    Server,
    serving,
)
from tests.operations_fleet import FAST, OpsFleet, now_clock

MINUTE = timedelta(minutes=1)


class User:
    """An admin with curl, in effect."""

    def __init__(self, server: Server, fleet: OpsFleet) -> None:
        self.fleet = fleet
        self.http = httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {server.admin}"}, timeout=10
        )

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, path, json=body)
        assert response.status_code in (200, 202), response.text
        return response.json()

    async def run_job(self, job: str) -> dict[str, Any]:
        ran = await self.call("POST", f"/api/admin/jobs/{job}/run?wait=true")
        assert ran["last_error"] is None, ran["last_error"]
        return dict(ran["last_result"])

    async def later(self, delta: timedelta) -> None:
        """Time passes; the scheduled jobs run (here: run by hand, metrics then idle)."""
        self.fleet.clock.advance(delta)
        await self.fleet.settled()
        await self.run_job("metrics")
        await self.fleet.settled()

    async def worker(self, worker_id: Any) -> dict[str, Any]:
        position = self.fleet.store.max_position()
        return dict(await self.call("GET", f"/api/workers/{worker_id}?min_position={position}"))


async def test_idle_pause_snooze_and_a_console_start_as_a_user_sees_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, demo_workers=0, scheduler_enabled=False, **FAST)
    fleet = OpsFleet(bootstrap(settings, clock=now_clock()))
    quiet = fleet.add("quiet-lab")
    asleep = fleet.add("asleep", stopped=True)
    watch = {"worker": [str(quiet), str(asleep)]}

    async with serving(fleet.system) as server, Dashboard(server, params=watch) as dashboard:
        user = User(server, fleet)
        short = {"enabled": True, "timeout_minutes": 15}
        await user.call("PUT", f"/api/workers/{quiet}/idle-detection", short)
        await user.later(MINUTE)

        # The countdown is visible before anything happens.
        before = await user.worker(quiet)
        idle_since = datetime.fromisoformat(before["idle_since"])
        due = datetime.fromisoformat(before["auto_pause_due_at"])
        assert due - idle_since == 15 * MINUTE and before["status"] == "running"

        # 15 idle minutes later, it pauses on its own.
        await user.later(due - fleet.clock.now() + MINUTE)
        report = await user.run_job("idle")
        assert report["paused"] == 1
        paused = (await dashboard.until("worker.paused"))[-1]
        assert paused.envelope["subject"] == str(quiet)
        assert (paused.data["reason"], paused.data["actor"]) == ("idle_timeout", "job:idle")
        assert paused.data["idle_minutes"] >= 15
        history = await user.call("GET", f"/api/workers/{quiet}/history")
        entry = next(e for e in history["items"] if e["type"] == "worker.paused")
        assert entry["payload"]["reason"] == "idle_timeout"

        # The engine stopped the instance; the next cycle sees it stopped.
        await fleet.settled()
        assert fleet.instance_of(quiet).state in ("stopping", "stopped")
        await user.later(2 * MINUTE)
        stopped = await user.worker(quiet)
        assert (stopped["status"], stopped["auto_pause_count"]) == ("stopped", 1)
        assert stopped["auto_pause_due_at"] is None

        # Resuming it starts it again and opens the snooze period (30 min > its 15).
        await user.call("POST", f"/api/workers/{quiet}/resume")
        resumed_at = fleet.clock.now()
        await fleet.settled()
        await user.later(MINUTE)
        running = await user.worker(quiet)
        assert running["status"] == "running"
        assert datetime.fromisoformat(running["auto_pause_due_at"]) == resumed_at + 30 * MINUTE
        await user.later(19 * MINUTE)  # idle 20 min: past its timeout, inside the snooze
        assert (await user.run_job("idle"))["paused"] == 0

        # Someone starts the other worker in the AWS console.
        fleet.cloud.console_start(fleet.instance_of(asleep).instance_id)
        await user.later(MINUTE)
        resumed = (await dashboard.until("worker.resumed"))[-1]
        while resumed.envelope["subject"] != str(asleep):
            resumed = (await dashboard.until("worker.resumed"))[-1]
        assert (resumed.data["reason"], resumed.data["status"]) == ("external", None)
        outside = await user.worker(asleep)
        assert outside["status"] in ("starting", "running") and outside["resume_count"] == 1
        await user.http.aclose()
