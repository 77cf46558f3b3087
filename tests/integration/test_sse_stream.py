"""The live event stream as a dashboard sees it: a real uvicorn on 127.0.0.1, httpx-sse."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import uvicorn
from httpx_sse import aconnect_sse

from application.contracts.notifications import DATA_CONTRACTS, CloudEventEnvelope
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.worker import CMLWorker
from infrastructure.fanout import subscription
from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.http.protocol import protocol_with
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.fakes.instances import import_body, launch_in

TIMEOUT = 10.0


def new_system(data_dir: Path, **settings: Any) -> System:
    """A server whose events come from the test alone: no jobs, and (unless asked) no
    operations engine, so a tag change is one event (no ``worker.tags.applied``)."""
    defaults = {"demo_workers": 0, "scheduler_enabled": False, "operations_enabled": False}
    return bootstrap(Settings(data_dir=data_dir, **(defaults | settings)))


@dataclass
class Server:
    system: System
    url: str
    port: int
    viewer: str
    admin: str


@asynccontextmanager
async def serving(system: System, *, stock_protocol: bool = False) -> AsyncIterator[Server]:
    """The real app on uvicorn, port 0, in this test's event loop: with the product's
    HTTP protocol, as `cml-fleet serve` runs it, or uvicorn's own (another server)."""
    config = uvicorn.Config(
        create_app(system),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        timeout_graceful_shutdown=10,
        http="httptools" if stock_protocol else protocol_with(30.0),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(TIMEOUT):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    viewer = system.auth.create_token(Role.VIEWER, "vera")
    admin = system.auth.create_token(Role.ADMIN, "ada")
    try:
        yield Server(system, f"http://127.0.0.1:{port}", port, viewer, admin)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, TIMEOUT)


@dataclass
class Frame:
    event: str
    id: str | None
    envelope: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        return self.envelope["data"]


class Dashboard:
    """An SSE client reading ``/api/events`` frame by frame."""

    def __init__(
        self,
        server: Server,
        params: Any = None,
        last_event_id: str | None = None,
        token: str | None = None,
    ):
        headers = {"Authorization": f"Bearer {token or server.viewer}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._client = httpx.AsyncClient(base_url=server.url, headers=headers, timeout=TIMEOUT)
        self._params = params
        self.retry: int | None = None

    async def __aenter__(self) -> Dashboard:
        self._connection = aconnect_sse(self._client, "GET", "/api/events", params=self._params)
        source = await self._connection.__aenter__()
        assert source.response.status_code == 200
        self._frames = source.aiter_sse()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.__aexit__(*exc)
        await self._client.aclose()

    async def next(self) -> Frame:
        """The next frame; ``retry:``-only frames are remembered, not returned."""
        while True:
            sse = await asyncio.wait_for(anext(self._frames), TIMEOUT)
            if sse.retry is not None and not sse.data:
                self.retry = sse.retry
                continue
            return Frame(sse.event, sse.id or None, json.loads(sse.data))

    async def rest(self) -> list[Frame]:
        """Every frame until the server ends the stream (bounded by TIMEOUT)."""
        frames = []
        try:
            while True:
                frames.append(await self.next())
        except StopAsyncIteration:
            return frames

    async def take(self, n: int) -> list[Frame]:
        return [await self.next() for _ in range(n)]

    async def until(self, event: str) -> list[Frame]:
        """Frames up to and including the first ``event``."""
        frames = [await self.next()]
        while frames[-1].event != event:
            frames.append(await self.next())
        return frames


class Operator:
    """Someone acting on the fleet through the REST API (admin token)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._client = httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {server.admin}"}
        )

    async def call(self, method: str, path: str, body: Any = None, corr: str | None = None):
        headers = {} if corr is None else {"X-Correlation-ID": corr}
        response = await self._client.request(method, path, json=body, headers=headers)
        assert response.status_code in (200, 202), response.text
        return response.json()

    async def import_worker(self, name: str) -> tuple[str, int]:
        """Import a running instance that EC2 (the server's simulated one) has."""
        body = import_body(launch_in(self.server.system, instance_type="c5.2xlarge"), name=name)
        answer = await self.call("POST", "/api/workers/import", body)
        return answer["worker_id"], answer["position"]

    async def tag(self, worker_id: str, value: str, corr: str | None = None) -> int:
        body = {"add": {"note": value}}
        answer = await self.call("PATCH", f"/api/workers/{worker_id}/tags", body, corr)
        return int(answer["position"])

    async def settled(self, position: int) -> None:
        """Wait until the read model (and so the hub) has applied ``position``."""
        assert await self.server.system.read_model.wait_until(position, TIMEOUT)

    async def close(self) -> None:
        await self._client.aclose()


@asynccontextmanager
async def operator(server: Server) -> AsyncIterator[Operator]:
    op = Operator(server)
    try:
        yield op
    finally:
        await op.close()


def seeded(system: System, count: int) -> tuple[list[CMLWorker], int]:
    """``count`` running workers saved straight into the store at once, and the position."""
    fleet = [
        CMLWorker.import_instance(
            WorkerSpec(name=f"w-{n:04d}", region="eu-west-1", instance_type="c5.2xlarge"),
            instance_id=f"i-{n:017x}",
            observed=WorkerStatus.RUNNING,
            cause=Cause("seed", "seed"),
        )
        for n in range(count)
    ]
    return fleet, system.store.save(*fleet)


def validate(frame: Frame) -> None:
    """Every frame is a CloudEvents envelope whose data matches its type's contract."""
    envelope = CloudEventEnvelope.model_validate(frame.envelope)
    assert envelope.type == frame.event
    DATA_CONTRACTS[frame.event].model_validate(envelope.data)


# -- stories ---------------------------------------------------------------------


async def test_a_new_dashboard_sees_hello_every_worker_then_changes_as_they_happen(
    tmp_path,
) -> None:
    async with serving(new_system(tmp_path)) as server, operator(server) as op:
        lab1, _ = await op.import_worker("lab-1")
        lab2, position = await op.import_worker("lab-2")
        await op.settled(position)
        async with Dashboard(server) as dashboard:
            hello, *snapshots = await dashboard.take(3)
            assert dashboard.retry == server.system.settings.sse_retry_ms
            assert (hello.event, hello.id, hello.data["position"]) == ("hello", None, position)
            assert {s.data["id"] for s in snapshots} == {lab1, lab2}
            assert all(s.event == "worker.snapshot" and s.id is None for s in snapshots)
            assert all(s.data["position"] == position for s in snapshots)

            answer = await op.call("POST", f"/api/workers/{lab1}/pause", corr="corr-pause-1")
            paused = await dashboard.next()
        for frame in (hello, *snapshots, paused):
            validate(frame)
        assert (paused.event, paused.id) == ("worker.paused", str(answer["position"]))
        assert paused.envelope["correlationid"] == "corr-pause-1"
        assert paused.envelope["sequence"] == answer["position"]
        assert paused.envelope["subject"] == lab1
        assert paused.data["status"] == "stopping" and paused.data["actor"] == "ada"


async def test_a_dashboard_asking_for_batched_snapshots_gets_the_same_fleet_in_fewer_frames(
    tmp_path,
) -> None:
    system = new_system(tmp_path)
    fleet, position = seeded(system, 1201)
    async with serving(system) as server, operator(server) as op:
        await op.settled(position)
        async with Dashboard(server) as single:
            _, *singles = await single.take(1 + len(fleet))
        async with Dashboard(server, {"snapshots": "batched"}) as batched:
            hello, *batches = await batched.take(4)
            tagged = await op.tag(str(fleet[0].id), "after-the-batches")
            live = await batched.next()
    for frame in (hello, *batches, live):
        validate(frame)
    assert (hello.event, hello.data["workers"], hello.data["position"]) == ("hello", 1201, position)
    assert [b.event for b in batches] == ["worker.snapshots"] * 3
    assert [len(b.data["snapshots"]) for b in batches] == [500, 500, 201]
    assert all(b.id is None and b.data["position"] == position for b in batches)
    snapshots = [s for b in batches for s in b.data["snapshots"]]
    assert snapshots == [s.data for s in singles]  # the same views, in the same order
    assert (live.event, live.id) == ("worker.tags.changed", str(tagged))


async def test_a_dashboard_that_reconnects_gets_exactly_what_it_missed(tmp_path) -> None:
    async with serving(new_system(tmp_path)) as server, operator(server) as op:
        lab, _ = await op.import_worker("lab")
        async with Dashboard(server) as dashboard:
            await dashboard.until("worker.snapshot")
            seen = await op.tag(lab, "before")
            assert (await dashboard.next()).id == str(seen)
        missed = [await op.tag(lab, f"missed-{i}") for i in range(3)]
        await op.settled(missed[-1])

        async with Dashboard(server, last_event_id=str(seen)) as dashboard:
            replayed = await dashboard.take(3)
            live = await op.tag(lab, "after")
            then = await dashboard.next()
    assert [f.id for f in replayed] == [str(p) for p in missed]
    assert [f.data["added"]["note"] for f in replayed] == ["missed-0", "missed-1", "missed-2"]
    assert then.id == str(live)


async def test_a_dashboard_resumes_without_a_gap_across_a_server_restart(tmp_path) -> None:
    async with serving(new_system(tmp_path)) as server, operator(server) as op:
        lab, seen = await op.import_worker("lab")
        missed = [await op.tag(lab, "before-restart")]
    async with serving(new_system(tmp_path)) as server, operator(server) as op:
        missed.append(await op.tag(lab, "after-restart"))
        await op.settled(missed[-1])
        async with Dashboard(server, params={"last_event_id": str(seen)}) as dashboard:
            replayed = await dashboard.take(2)
            live = await op.tag(lab, "live")
            then = await dashboard.next()
    assert [f.id for f in replayed] == [str(p) for p in missed]
    assert then.id == str(live)


@pytest.mark.parametrize(
    ("last_event_id", "reason"),
    [("999999", "unknown_id"), ("not-a-position", "unknown_id"), ("1", "gap_too_large")],
)
async def test_a_resume_point_that_cannot_be_replayed_gets_a_resync_and_fresh_snapshots(
    tmp_path, last_event_id, reason
) -> None:
    async with serving(new_system(tmp_path, sse_max_replay=3)) as server, operator(server) as op:
        lab, _ = await op.import_worker("lab")
        position = max([await op.tag(lab, f"v{i}") for i in range(5)])
        await op.settled(position)
        async with Dashboard(server, last_event_id=last_event_id) as dashboard:
            resync, snapshot = await dashboard.take(2)
    validate(resync)
    assert resync.event == "stream.resync"
    assert resync.data["reason"] == reason and resync.data["position"] == position
    assert snapshot.event == "worker.snapshot" and snapshot.data["version"] == 6


async def test_filters_limit_the_stream_to_some_workers_or_some_types(tmp_path) -> None:
    async with serving(new_system(tmp_path)) as server, operator(server) as op:
        mine, _ = await op.import_worker("mine")
        other, position = await op.import_worker("other")
        await op.settled(position)
        async with (
            Dashboard(server, params={"worker": mine}) as just_mine,
            Dashboard(server, params={"type": "worker.paused"}) as just_pauses,
        ):
            hello, snapshot = await just_mine.take(2)
            pause_hello = await just_pauses.next()
            await op.tag(other, "x")
            await op.call("POST", f"/api/workers/{other}/pause")
            await op.tag(mine, "y")
            mine_next = await just_mine.next()
            pause_next = await just_pauses.next()
    assert hello.data["worker_filter"] == [mine] and snapshot.data["id"] == mine
    assert (mine_next.event, mine_next.envelope["subject"]) == ("worker.tags.changed", mine)
    assert pause_hello.data["workers"] == 0  # no snapshots: they are not worker.paused
    assert (pause_next.event, pause_next.envelope["subject"]) == ("worker.paused", other)


async def test_the_stream_needs_a_token_and_valid_filters(tmp_path) -> None:
    async with serving(new_system(tmp_path)) as server, httpx.AsyncClient() as client:
        anonymous = await client.get(f"{server.url}/api/events")
        bad_filter = await client.get(
            f"{server.url}/api/events",
            params={"worker": "nope"},
            headers={"Authorization": f"Bearer {server.viewer}"},
        )
        bad_mode = await client.get(
            f"{server.url}/api/events",
            params={"snapshots": "all-at-once"},
            headers={"Authorization": f"Bearer {server.viewer}"},
        )
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert bad_filter.status_code == 422 and bad_filter.json()["errors"][0]["field"] == "worker"
    assert bad_mode.status_code == 422 and bad_mode.json()["errors"][0]["field"] == "snapshots"
    assert "batched" in bad_mode.json()["errors"][0]["message"]


async def test_a_stalled_dashboard_is_cut_off_while_another_keeps_receiving(tmp_path) -> None:
    async with serving(new_system(tmp_path, sse_queue_size=4)) as server, operator(server) as op:
        lab, position = await op.import_worker("lab")
        await op.settled(position)
        [dto] = server.system.read_model.all_workers()
        fleet = [replace(dto, id=str(uuid4())) for _ in range(200)]  # ~300 KB a burst
        async with Dashboard(server) as healthy:
            await healthy.take(2)
            stalled = await open_stalled_stream(server)
            hub = server.system.hub
            for _ in range(200):  # each burst: the healthy one reads it, the stalled one not
                if hub.cut_off:
                    break
                hub.broadcast_snapshots(fleet, position)
                await healthy.take(len(fleet))
            assert hub.cut_off == 1
            still = await op.tag(lab, "still-live")
            assert (await healthy.next()).id == str(still)
        assert await stream_ends(stalled), "the stalled stream should end"


async def test_stopping_the_server_ends_open_streams_cleanly_and_promptly(tmp_path) -> None:
    async with serving(new_system(tmp_path)) as server:
        dashboard = await Dashboard(server).__aenter__()
        await dashboard.next()
        stopping = time.monotonic()
    with pytest.raises(StopAsyncIteration):  # a complete response, not a broken one
        await dashboard.next()
    await dashboard.__aexit__(None, None, None)
    assert time.monotonic() - stopping < 5  # well before uvicorn's 10 s graceful timeout


# -- a client that stops reading ---------------------------------------------------


async def open_stalled_stream(server: Server) -> tuple[asyncio.StreamReader, Any]:
    """Open the stream on a socket with a tiny receive buffer, read the hello, then stall."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    request = (
        "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.viewer}\r\nAccept: text/event-stream\r\n\r\n"
    )
    writer.write(request.encode())
    await asyncio.wait_for(reader.readuntil(b"event: hello"), TIMEOUT)
    return reader, writer


async def stream_ends(stalled: tuple[asyncio.StreamReader, Any]) -> bool:
    """Read what the stalled client never read; True when the response ends, or the
    server drops the connection (a reset: it does not wait for a stalled client)."""
    reader, writer = stalled
    tail = b""
    try:
        async with asyncio.timeout(30):
            while chunk := await reader.read(65536):
                tail = (tail + chunk)[-16:]
                if tail.endswith(b"\r\n0\r\n\r\n"):
                    return True
            return True  # the server closed the connection
    except ConnectionResetError:
        return True
    finally:
        writer.close()


async def test_streams_are_capped_per_credential_and_in_total_with_a_clear_refusal(
    tmp_path,
) -> None:
    system = new_system(tmp_path, sse_max_streams_per_credential=2, sse_max_streams=3)
    async with serving(system) as server:
        other = system.auth.create_token(Role.VIEWER, "other")
        async with (
            Dashboard(server) as first,
            Dashboard(server) as second,
            httpx.AsyncClient(base_url=server.url) as http,
        ):
            await first.next()
            await second.next()
            mine = await http.get(
                "/api/events", headers={"Authorization": f"Bearer {server.viewer}"}
            )
            async with Dashboard(server, token=other) as third:
                await third.next()
                full = await http.get("/api/events", headers={"Authorization": f"Bearer {other}"})
        async with httpx.AsyncClient(base_url=server.url) as http:
            # once closed, a stream can be opened again (the server hears the close soon)
            reopened = None
            for _ in range(100):  # bounded
                async with http.stream(
                    "GET", "/api/events", headers={"Authorization": f"Bearer {server.viewer}"}
                ) as answer:
                    reopened = answer.status_code
                if reopened == 200:
                    break
                await asyncio.sleep(0.05)  # a polling interval, not a timing assumption
    assert reopened == 200
    assert mine.status_code == 429 and mine.json()["type"].endswith("too-many-streams")
    assert "2 open event streams" in mine.json()["detail"] and "retry-after" in mine.headers
    assert full.status_code == 503 and full.json()["type"].endswith("streams-full")
    assert "retry-after" in full.headers


async def test_revoking_a_token_refuses_it_at_once_and_ends_its_open_streams(tmp_path) -> None:
    system = new_system(tmp_path)
    async with serving(system) as server:
        admin = {"Authorization": f"Bearer {server.admin}"}
        async with httpx.AsyncClient(base_url=server.url, headers=admin) as http:
            listed = (await http.get("/api/admin/tokens")).json()["items"]
            vera = next(t for t in listed if t["name"] == "vera")
            assert set(vera) == {
                *("id", "name", "role", "created_at", "expires_at", "last_used_at", "teams")
            }
            async with Dashboard(server) as dashboard:
                assert (await dashboard.next()).event == "hello"
                revoked = await http.delete(f"/api/admin/tokens/{vera['id']}")
                ended = await dashboard.rest()  # the stream ends, cleanly
            refused = await http.get(
                "/api/workers", headers={"Authorization": f"Bearer {server.viewer}"}
            )
            again = await http.delete(f"/api/admin/tokens/{vera['id']}")
            after = (await http.get("/api/admin/tokens")).json()["items"]
    assert revoked.status_code == 204
    assert ended is not None
    assert refused.status_code == 401
    assert again.status_code == 404
    assert vera["id"] not in [t["id"] for t in after]
    used = next(t for t in after if t["name"] == "ada")["last_used_at"]
    assert used is not None  # the admin's own token, used just now


async def test_a_token_revoked_elsewhere_ends_its_streams_within_a_heartbeat(tmp_path) -> None:
    system = new_system(tmp_path, sse_heartbeat_seconds=0.2)
    async with serving(system) as server:
        token_id = next(t.id for t in system.auth.tokens() if t.name == "vera")
        async with Dashboard(server) as dashboard:
            assert (await dashboard.next()).event == "hello"
            assert await asyncio.to_thread(system.auth.revoke, token_id)  # as the CLI does
            ended = await dashboard.rest()
    assert ended is not None


async def test_under_another_asgi_server_streams_still_work_and_end_when_the_client_leaves(
    tmp_path,
) -> None:
    """No connection writer (uvicorn's own protocol): frames are pulled and sent by the
    stream, and a client that goes away ends its stream (its slot is given back)."""
    system = new_system(tmp_path)
    async with serving(system, stock_protocol=True) as server, operator(server) as op:
        lab, position = await op.import_worker("lab")
        await op.settled(position)
        hub = server.system.hub
        async with Dashboard(server) as dashboard:
            assert (await dashboard.next()).event == "hello"
            await dashboard.take(1)  # the lab's snapshot
            changed = await op.tag(lab, "pulled")
            assert (await dashboard.next()).id == str(changed)
            assert hub.subscriber_count == 1
        async with asyncio.timeout(TIMEOUT):
            while hub.subscriber_count:
                await asyncio.sleep(0.02)  # until the server notices (bounded)


async def test_a_fleet_larger_than_a_client_can_hold_at_once_reaches_a_slow_dashboard(
    tmp_path, monkeypatch
) -> None:
    """The initial state of a big fleet (18 MB for 10,000 workers) is more than the
    server holds for a client that reads slowly (``MOST_BUFFERED``, here made small):
    it is sent as the client takes it, not handed to the connection at once, where the
    first live write found it still buffered and cut the client as stuck."""
    monkeypatch.setattr(subscription, "MOST_BUFFERED", 4 * subscription.HIGH_WATER)
    system = new_system(tmp_path)
    fleet, position = seeded(system, 4000)  # 6.6 MB of snapshots: more than the kernel takes
    async with serving(system) as server, operator(server) as op:
        await op.settled(position)
        slow = await open_stalled_stream(server)  # has read the hello only
        async with Dashboard(server) as healthy:
            await healthy.take(1 + len(fleet))
            tagged = await op.tag(str(fleet[0].id), "while-you-were-away")
            assert (await healthy.next()).id == str(tagged)  # published and written
        seen = await read_until(slow, f"id: {tagged}\n".encode())
        assert seen.count(b"event: worker.snapshot") == len(fleet)
        assert f"id: {tagged}\n".encode() in seen, "the slow dashboard was cut off"
        assert server.system.hub.cut_off == 0


async def read_until(stream: tuple[asyncio.StreamReader, Any], wanted: bytes) -> bytes:
    """What the client reads until ``wanted`` arrives or the connection ends."""
    reader, writer = stream
    seen = b""
    try:
        async with asyncio.timeout(TIMEOUT):
            while wanted not in seen and (chunk := await reader.read(65536)):
                seen += chunk
    except ConnectionResetError:
        pass
    finally:
        writer.close()
    return seen
