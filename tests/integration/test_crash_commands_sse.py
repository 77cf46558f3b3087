"""Crash safety of commands and of the event stream.

A real ``cml-fleet serve`` runs on 127.0.0.1 (port 0). Several dashboards follow
``/api/events`` while several API clients change tags and idle timeouts on a few
workers. The server is killed with SIGKILL in the middle of that burst and restarted
on the same data dir. Then:

- every acknowledged command's event is in the log, at the position it was
  acknowledged with, and in the worker's history; a refused command (409) left
  nothing; a command the kill cut off left all of its events or none; no worker's
  versions have a hole;
- the read model of the restarted server equals a fresh rebuild from the log;
- each dashboard, resuming with ``Last-Event-ID`` = the last id it received, gets
  every later event exactly once and in order: what it got before the kill plus what
  it got after is the log from where it subscribed, no gap, no duplicate.

Every wait polls with a bounded deadline; nothing sleeps for timing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from tests.fakes.instances import import_body, launch_in_journal
from tests.integration.durable_state import fresh_rebuild, logged_events, view_tables
from tests.integration.test_crash_kill9 import ServerProcess

WORKERS = 6
CLIENTS = 4
KILL_AFTER = 60  # acknowledged commands before the kill...
LIVE_BEFORE_KILL = 5  # ...and event frames each dashboard got live
AFTER_RESTART = 5
WAIT = 20.0  # a bound on each wait, not a delay
STREAM_FILTERS: tuple[dict[str, str], ...] = ({}, {}, {"type": "worker.tags"})
SETTINGS = {"demo_workers": "0", "scheduler_enabled": "false", "log_level": "warning"}


async def until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` (on the loop, between frames and answers) for up to ``WAIT`` s."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)  # a polling interval, not a timing assumption


@dataclass
class Dashboard:
    """A subscriber to ``/api/events``: the frames it got, across reconnections."""

    params: dict[str, str]
    start: int | None = None  # the hello's position: live frames follow it
    numbered: list[tuple[str, str, str, str]] = field(default_factory=list)
    unnumbered: list[str] = field(default_factory=list)  # hello, snapshots, resync
    connected: bool = False

    @property
    def last_id(self) -> str | None:
        return self.numbered[-1][0] if self.numbered else None

    def wants(self, event_type: str) -> bool:
        return event_type.startswith(self.params.get("type", ""))

    async def follow(self, url: str, token: str) -> None:
        """Record frames until the connection breaks (the kill) or the task is cancelled;
        reconnects with ``Last-Event-ID`` when it already has one."""
        headers = {"Authorization": f"Bearer {token}"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        self.connected = False
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=WAIT) as http:
            try:
                async with aconnect_sse(http, "GET", "/api/events", params=self.params) as source:
                    assert source.response.status_code == 200
                    self.connected = True
                    async for sse in source.aiter_sse():
                        if sse.data:  # not the retry-only frame
                            self._record(sse.event, sse.id, json.loads(sse.data))
            except httpx.TransportError:
                return  # the server was killed

    def _record(self, event: str, frame_id: str, envelope: dict[str, Any]) -> None:
        if not frame_id:
            self.unnumbered.append(event)
            if event == "hello":
                self.start = envelope["data"]["position"]
            return
        ids = (frame_id, event, envelope["subject"], envelope["correlationid"])
        self.numbered.append(ids)


@dataclass
class Burst:
    """What the API clients sent, and what the server answered (by correlation id)."""

    workers: list[str]
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # -> (worker, position)
    refused: set[str] = field(default_factory=set)
    cut_off: set[str] = field(default_factory=set)  # no answer: the kill came first
    numbers: itertools.count[int] = field(default_factory=itertools.count)

    def request(self, client: int, n: int) -> tuple[str, str, str, dict[str, Any]]:
        """A command that always changes something: a new tag, or a new idle timeout."""
        worker = self.workers[(client + n) % len(self.workers)]
        number = next(self.numbers)
        cid = f"crash-{number}"
        if number % 2 == 0:
            return cid, "PATCH", f"/api/workers/{worker}/tags", {"add": {f"k{number}": "v"}}
        body = {"enabled": True, "timeout_minutes": 1 + number}
        return cid, "PUT", f"/api/workers/{worker}/idle-detection", body

    async def client(self, url: str, token: str, client: int, answered: Callable[[], None]) -> None:
        """Fire commands one after another until the server goes away."""
        async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
            for n in itertools.count():
                cid, method, path, body = self.request(client, n)
                headers = {"Authorization": f"Bearer {token}", "X-Correlation-ID": cid}
                try:
                    answer = await http.request(method, path, json=body, headers=headers)
                except httpx.TransportError:
                    self.cut_off.add(cid)
                    return
                if answer.status_code == 409:
                    assert answer.headers["content-type"] == "application/problem+json"
                    self.refused.add(cid)
                else:
                    assert answer.status_code == 200, answer.text
                    self.acked[cid] = (path.split("/")[3], answer.json()["position"])
                answered()


def import_workers(url: str, token: str, instances: list[str]) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    with httpx.Client(base_url=url, headers=headers, timeout=WAIT) as http:
        for n, instance_id in enumerate(instances):
            body = import_body(instance_id, name=f"lab-{n}")
            answer = http.post("/api/workers/import", json=body)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["worker_id"])
    return ids


async def burst_then_kill(server: ServerProcess, token: str, burst: Burst) -> list[Dashboard]:
    dashboards = [Dashboard(dict(f)) for f in STREAM_FILTERS]
    following = [asyncio.create_task(d.follow(server.url, token)) for d in dashboards]
    await until(lambda: all(d.start is not None for d in dashboards), "every hello")
    enough = asyncio.Event()

    def answered() -> None:
        live = all(len(d.numbered) >= LIVE_BEFORE_KILL for d in dashboards)
        if len(burst.acked) >= KILL_AFTER and live:
            enough.set()

    firing = [
        asyncio.create_task(burst.client(server.url, token, c, answered)) for c in range(CLIENTS)
    ]
    await asyncio.wait_for(enough.wait(), WAIT)
    await asyncio.to_thread(server.kill_9)
    async with asyncio.timeout(WAIT):
        await asyncio.gather(*firing, *following)
    return dashboards


async def resume_then_change(
    server: ServerProcess, token: str, dashboards: list[Dashboard], workers: list[str]
) -> int:
    """Each dashboard reconnects from its last id; then a few more changes arrive live."""
    following = [asyncio.create_task(d.follow(server.url, token)) for d in dashboards]
    await until(lambda: all(d.connected for d in dashboards), "every dashboard to reconnect")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=WAIT) as http:
        for n in range(AFTER_RESTART):
            path = f"/api/workers/{workers[n % len(workers)]}/tags"
            cid = {"X-Correlation-ID": f"after-{n}"}
            answer = await http.patch(path, json={"add": {f"after-{n}": "v"}}, headers=cid)
            assert answer.status_code == 200, answer.text
    end = int(answer.json()["position"])  # a tags change: every dashboard wants it
    last = [lambda d=d: d.last_id is not None and int(d.last_id) >= end for d in dashboards]
    try:
        await until(lambda: all(check() for check in last), "every dashboard to catch up")
    finally:
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
    return end


def served(server: ServerProcess, token: str, workers: list[str], end: int) -> dict[str, Any]:
    """What the restarted server answers: each worker's history, and the listing."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=WAIT) as http:
        listing = http.get(f"/api/workers?limit=500&min_position={end}")
        assert listing.status_code == 200, listing.text
        history = {}
        for worker in workers:
            page = http.get(f"/api/workers/{worker}/history?limit=500").json()
            assert page["next_before_version"] is None
            history[worker] = {item["correlation_id"] for item in page["items"]}
    return {"listing": listing.json()["items"], "history": history}


def test_kill_9_mid_burst_loses_no_acknowledged_command_and_no_stream_event(
    tmp_path: Path,
) -> None:
    data_dir, logs = tmp_path / "data", tmp_path / "server.log"
    instances = launch_in_journal(data_dir, WORKERS)  # in the EC2 the server simulates
    first = ServerProcess(data_dir, logs, **SETTINGS)
    try:
        token = first.token()
        burst = Burst(import_workers(first.url, token, instances))
        dashboards = asyncio.run(burst_then_kill(first, token, burst))
    finally:
        if first.process.poll() is None:
            first.kill_9()
    unnumbered_at_kill = [list(d.unnumbered) for d in dashboards]
    numbered_at_kill = [len(d.numbered) for d in dashboards]

    second = ServerProcess(data_dir, logs, **SETTINGS)
    try:
        end = asyncio.run(resume_then_change(second, token, dashboards, burst.workers))
        answers = served(second, token, burst.workers, end)
    finally:
        second.stop()

    log = logged_events(data_dir)
    check_commands(burst, log, answers["history"])
    check_streams(dashboards, unnumbered_at_kill, log, end)
    rebuilt = fresh_rebuild(data_dir, tmp_path / "rebuilt")
    assert view_tables(data_dir) == view_tables(rebuilt)
    dtos = {row[0]: json.loads(row[2]) for row in view_tables(rebuilt)["worker_dtos"]}
    assert {w["id"]: w for w in answers["listing"]} == dtos
    applied = sum(1 for e in log if e.correlation_id in burst.cut_off)
    print(
        json.dumps(
            {
                "acked": len(burst.acked),
                "refused": len(burst.refused),
                "cut_off": len(burst.cut_off),
                "cut_off_applied": applied,
                "events": len(log),
                "event_frames_before_kill": numbered_at_kill,
                "event_frames_in_all": [len(d.numbered) for d in dashboards],
            }
        )
    )


def check_commands(burst: Burst, log: list[Any], history: dict[str, set[str]]) -> None:
    by_cid: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for event in log:
        # The engine's confirmation that a tag change reached EC2 carries the change's
        # correlation id: it follows the command, it is not the command's own event (a
        # change still pending at the kill is confirmed after the restart).
        if event.type != "worker.tags.applied":
            by_cid[event.correlation_id].append((event.worker_id, event.position))
    assert len(burst.acked) >= KILL_AFTER and burst.cut_off, "the kill was not mid-burst"
    for cid, (worker, position) in burst.acked.items():
        assert by_cid[cid] == [(worker, position)], cid  # present, once, where acknowledged
        assert cid in history[worker]
    assert all(by_cid[cid] == [] for cid in burst.refused)
    assert all(len(by_cid[cid]) <= 1 for cid in burst.cut_off)  # all of it or nothing
    sent = set(burst.acked) | burst.refused | burst.cut_off
    assert {cid for cid in by_cid if cid.startswith("crash-")} <= sent
    versions: dict[str, list[int]] = defaultdict(list)
    for event in log:
        versions[event.worker_id].append(event.version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())


def check_streams(
    dashboards: list[Dashboard], unnumbered_at_kill: list[list[str]], log: list[Any], end: int
) -> None:
    # The engine may still confirm a tag change pending at the kill after ``end`` (the
    # last command sent); each dashboard is checked up to the last frame it got (>= end).
    assert log[-1].position >= end
    for dashboard, at_kill in zip(dashboards, unnumbered_at_kill, strict=True):
        assert dashboard.start is not None and dashboard.last_id is not None
        last = int(dashboard.last_id)
        assert last >= end
        expected = [
            (str(e.position), e.type, e.worker_id, e.correlation_id)
            for e in log
            if dashboard.start < e.position <= last and dashboard.wants(e.type)
        ]
        assert dashboard.numbered == expected, dashboard.params
        assert dashboard.unnumbered == at_kill  # resumed: no hello, resync or snapshots
