"""Webhook delivery survives ``kill -9``: a real ``cml-fleet serve`` sends the fleet's
events to a (slow) receiver on 127.0.0.1, is killed while deliveries are in flight,
and restarted on the same data dir. Every event the subscription selects arrives, none
is lost; a repeat can only be the one request in flight at the kill, and it carries the
same ``webhook-id``, so the receiver (keeping ids, as CloudEvents asks) takes each once.
Waits poll with deadlines; nothing sleeps for timing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.integration.test_crash_kill9 import ServerProcess, poll
from tests.integration.test_webhook_delivery import SECRET, Receiver

TYPES = ["worker.paused", "worker.start.requested"]


async def act(url: str, token: str, paths: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        answers = await asyncio.gather(*(http.post(p) for p in paths))
    assert [a.status_code for a in answers] == [202] * len(paths)


def selected_events(url: str, token: str, workers: list[str]) -> set[str]:
    """The ids (worker:version) of every selected event in the workers' histories."""
    found = set()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for worker in workers:
            items = http.get(f"/api/workers/{worker}/history?limit=100").json()["items"]
            found |= {f"{worker}:{i['version']}" for i in items if i["type"] in TYPES}
    return found


def test_webhooks_are_all_delivered_once_across_a_kill_9(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "server.log"
    receiver = Receiver(delay=0.05)  # 50 ms per request: deliveries are in flight at the kill
    settings = {"demo_workers": "30", "sim_latency_ms": "20"}
    first = ServerProcess(data, logs, **settings)
    try:
        token = first.token()
        headers = {"Authorization": f"Bearer {token}"}
        hook = {"id": "ops", "url": receiver.url, "secret": SECRET, "events": TYPES}
        assert (
            httpx.post(f"{first.url}/api/webhooks", json=hook, headers=headers).status_code == 201
        )
        fleet = httpx.get(f"{first.url}/api/workers?limit=100", headers=headers).json()["items"]
        up = [w["id"] for w in fleet if w["status"] == "running"]
        down = [w["id"] for w in fleet if w["status"] == "stopped"]
        assert len(up) >= 10 and len(down) >= 4

        asyncio.run(act(first.url, token, [f"/api/workers/{w}/pause" for w in up[: len(up) // 2]]))
        poll(lambda: len(receiver.events()) >= 3, "the first deliveries")
        first.kill_9()
        in_flight_left = len(up) // 2 - len(receiver.events())
        assert in_flight_left > 0  # the kill came before the receiver had them all
    finally:
        if first.process.poll() is None:
            first.kill_9()

    second = ServerProcess(data, logs, **settings)  # the same token still works
    try:
        rest = [f"/api/workers/{w}/pause" for w in up[len(up) // 2 :]]
        asyncio.run(act(second.url, token, rest + [f"/api/workers/{w}/start" for w in down]))
        wanted = selected_events(second.url, token, up + down)
        assert len(wanted) == len(up) + len(down)

        poll(lambda: {e["id"] for e in receiver.events()} >= wanted, "every event delivered")
        received: dict[str, Any] = {e["id"]: e for e in receiver.events()}
        assert set(received) == wanted  # nothing lost, nothing else
        assert receiver.received.repeats <= 1  # at most the one request in flight at the kill
        assert receiver.received.refused == 0
        answer = httpx.get(
            f"{second.url}/api/webhooks/ops", headers={"Authorization": f"Bearer {token}"}
        )
        assert (answer.json()["pending"], answer.json()["dead"]) == (0, 0)
    finally:
        second.stop()
        receiver.close()
