"""Screenshots of the dashboard for the README: ``python -m tests.e2e.screenshots``.

A demo fleet on the simulated cloud with the metrics job running, six hours of
utilization samples for the charts, one worker paused and one with idle auto-pause off;
then the fleet table, a worker's drawer, and the cards on a phone-sized screen.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from application.jobs.ports import UtilizationSample
from infrastructure.store.metrics_history import open_metrics_history
from tests.e2e.harness import FleetServer, create_tokens, launch_chromium

DOCS = Path(__file__).resolve().parents[2] / "docs"
DEMO = {
    "CML_FLEET_DEMO_WORKERS": "12",
    "CML_FLEET_SCHEDULER_ENABLED": "true",
    "CML_FLEET_METRICS_INTERVAL_SECONDS": "5",
}
WAIT = 30.0


def history(worker_id: str, seed: int, now: datetime) -> list[UtilizationSample]:
    """Six hours of plausible samples, one every five minutes."""
    samples = []
    for step in range(72):
        at = now - timedelta(minutes=5 * (72 - step))
        wave = math.sin(step / 7 + seed)
        cpu = 35 + 25 * wave + 10 * math.sin(step / 2.3 + seed * 3)
        samples.append(UtilizationSample(worker_id, at, cpu, 45 + 12 * wave, 30 + step / 10))
    return samples


def running_workers(server: FleetServer, token: str) -> list[dict[str, object]]:
    """Running workers, once the metrics job has measured them all."""
    deadline = time.monotonic() + WAIT
    with server.api(token) as api:
        while time.monotonic() < deadline:
            items = api.get("/api/workers", params={"limit": 100}).json()["items"]
            running = [w for w in items if w["status"] == "running"]
            if running and all(w["cpu_percent"] is not None for w in running):
                return running
            time.sleep(0.5)  # waiting on another process's job cycle
    raise TimeoutError("the metrics job did not measure the fleet in time")


def prepare(server: FleetServer, token: str) -> dict[str, object]:
    """Chart history for every running worker; one paused, one with auto-pause off."""
    running = running_workers(server, token)
    metrics = open_metrics_history(server.settings())
    now = datetime.now(UTC)
    for seed, worker in enumerate(running):
        metrics.append(history(str(worker["id"]), seed, now))
    with server.api(token) as api:
        api.post(f"/api/workers/{running[-1]['id']}/pause")
        api.put(f"/api/workers/{running[-2]['id']}/idle-detection", json={"enabled": False})
    return running[0]


def shoot(out: Path = DOCS) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = FleetServer(Path(tmp) / "data", env=DEMO)
        tokens = create_tokens(server.settings())
        server.start()
        try:
            featured = prepare(server, tokens.admin)
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(server.login_url(tokens.admin))
            page.wait_for_selector("body[data-ready]")
            page.wait_for_selector('[data-status="stopping"], [data-status="stopped"]')
            page.screenshot(path=out / "dashboard-fleet.png")
            page.get_by_role("button", name=str(featured["name"]), exact=True).click()
            page.wait_for_selector("#d-chart canvas")
            page.wait_for_selector("#d-history li")
            page.screenshot(path=out / "dashboard-drawer.png")
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(server.login_url(tokens.operator))
            phone.wait_for_selector("body[data-ready]")
            phone.screenshot(path=out / "dashboard-cards.png")
            browser.close()
        finally:
            server.stop()
    print(f"screenshots written to {out}", file=sys.stderr)


if __name__ == "__main__":
    shoot()
