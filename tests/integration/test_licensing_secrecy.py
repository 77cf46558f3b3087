"""A license token exists only in the request body and in memory: after a successful
registration, a refused one (CML answers 400) and one cut short by a restart, it is
nowhere in the data directory, the logs, the SSE stream, the history or the API."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from application.operations.licensing import TOKEN_GONE
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from infrastructure.wiring.logs import JsonFormatter
from tests.integration.test_sse_stream import (
    Dashboard,
    Server,
    serving,
)
from tests.operations_fleet import FAST, OpsFleet, now_clock


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line of the test, formatted as the server writes them (JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def fleet_on(data_dir: Path, clock: FakeClock, **settings: Any) -> OpsFleet:
    base = Settings(data_dir=data_dir, demo_workers=0, scheduler_enabled=False, **FAST)
    return OpsFleet(bootstrap(base.model_copy(update=settings), clock=clock))


def unlicensed(fleet: OpsFleet, name: str) -> str:
    worker_id = fleet.add(name)
    fleet.instance_of(worker_id).cml.deregister()  # evaluation mode: ready to register
    return str(worker_id)


def found_in(folder: Path, secret: str) -> list[str]:
    """Files under ``folder`` holding ``secret`` (bytes, so SQLite pages and WAL too)."""
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def register(server: Server, worker_id: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        return await http.post(
            f"/api/workers/{worker_id}/license",
            json={"token": token},
            headers={"Authorization": f"Bearer {server.admin}"},
        )


async def outcome_frames(dashboard: Dashboard, outcome: str) -> str:
    """Every frame's text up to the registration's outcome."""
    frames = await dashboard.until(outcome)
    return "\n".join(str(f.envelope) for f in frames)


async def test_good_and_bad_tokens_leave_no_trace_anywhere(
    tmp_path: Path, logs: io.StringIO
) -> None:
    good, bad = f"SLR{uuid4().hex}", f"bad token {uuid4().hex}!"
    fleet = fleet_on(tmp_path, now_clock())
    lab_1, lab_2 = unlicensed(fleet, "lab-1"), unlicensed(fleet, "lab-2")

    async with serving(fleet.system) as server:
        async with Dashboard(server, params={"worker": lab_1}) as dashboard:
            accepted = await register(server, lab_1, good)
            stream = await outcome_frames(dashboard, "worker.license.registration.completed")
        async with Dashboard(server, params={"worker": lab_2}) as dashboard:
            refused = await register(server, lab_2, bad)
            stream += await outcome_frames(dashboard, "worker.license.registration.failed")
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            auth = {"Authorization": f"Bearer {server.viewer}"}
            views = [
                (await http.get(f"/api/workers/{w}", headers=auth)).text for w in (lab_1, lab_2)
            ]
            views += [(await http.get(f"/api/workers/{w}/history", headers=auth)).text
                      for w in (lab_1, lab_2)]  # fmt: skip

    registered, failed = (fleet.worker(lab) for lab in (UUID(lab_1), UUID(lab_2)))
    assert (accepted.status_code, refused.status_code) == (202, 202)
    assert registered.license_status.value == "registered"
    assert (failed.license_status.value, failed.license_detail) == (
        "failed",
        "CML refused the registration: HTTP 400: invalid token format",
    )
    assert registered.license_fingerprint is not None
    assert registered.license_fingerprint in stream  # the fingerprint, never the token
    assert found_in(tmp_path, registered.license_fingerprint)  # the search does see SQLite
    for token in (good, bad):
        assert token not in accepted.text + refused.text + stream + "".join(views)
        assert token not in logs.getvalue()
        assert found_in(tmp_path, token) == []
    assert "operation license registration" in logs.getvalue()  # the logs were captured


async def test_after_a_restart_the_token_is_gone_and_the_registration_fails_asking_for_it(
    tmp_path: Path, logs: io.StringIO
) -> None:
    token = f"SLR{uuid4().hex}"
    clock = now_clock()
    before = fleet_on(tmp_path, clock, operations_enabled=False)  # it dies before acting
    lab = unlicensed(before, "lab")
    async with serving(before.system) as server:
        assert (await register(server, lab, token)).status_code == 202
    before.system.close()

    after = fleet_on(tmp_path, clock)
    async with serving(after.system):
        await after.settled()

    worker = after.worker(UUID(lab))
    assert (worker.license_status.value, worker.license_detail) == ("failed", TOKEN_GONE)
    assert token not in logs.getvalue()
    assert found_in(tmp_path, token) == []
