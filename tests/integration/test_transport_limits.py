"""Transport limits on a real ``cml-fleet serve``: a request must arrive whole within
the read timeout (headers and body), and an SSE client that stops reading is cut and
its connection closed within the send timeout, with one WARNING line and no traceback.
Raw sockets on 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from tests.integration.postgres_cluster import Node, wait_until
from tests.integration.test_serve_modes import admin_token, defaults

READ_TIMEOUT = "1"
SEND_TIMEOUT = "1"
WAIT = 30.0


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = defaults(
        tmp_path / "data",
        http_read_timeout_seconds=READ_TIMEOUT,
        sse_send_timeout_seconds=SEND_TIMEOUT,
        sse_queue_size="20",
        metrics_interval_seconds="0.2",
        snapshot_every_n_cycles="1",
        demo_workers="30",
        sim_busy_fraction="1.0",
    )
    log = tmp_path / "serve.log"
    node = Node(env, admin_token(env), log=log)
    assert wait_until(node.ready, 60)
    yield node, log
    node.stop()


def peer_ports(pid: int) -> set[int]:
    """The remote ports of the TCP connections process ``pid`` has open (Linux: its
    socket inodes, looked up in /proc/net/tcp)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add(int(fields[2].split(":")[1], 16))
    return ports


def connect(node: Node) -> socket.socket:
    host, port = node.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=WAIT)


def closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes (EOF or reset), within the socket's timeout."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize(
    "partial",
    [
        b"GET /api/workers HT",  # half a request line
        b"GET /api/workers HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"",  # connected, says nothing
    ],
    ids=["request line", "headers", "silence"],
)
def test_a_request_that_never_arrives_whole_is_dropped_within_the_read_timeout(
    server: tuple[Node, Path], partial: bytes
) -> None:
    node, log = server
    with connect(node) as sock:
        started = time.monotonic()
        sock.sendall(partial)
        assert closed_by_server(sock)
        took = time.monotonic() - started
    assert took < float(READ_TIMEOUT) + 5
    assert "Traceback" not in log.read_text()


def test_a_body_shorter_than_declared_is_dropped_within_the_read_timeout(
    server: tuple[Node, Path],
) -> None:
    node, log = server
    token = node.headers["Authorization"]
    head = (
        "POST /api/workers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {token}\r\nContent-Length: 200\r\n\r\n"
    )
    with connect(node) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + b'{"name": "half')
        assert closed_by_server(sock)
        took = time.monotonic() - started
    assert took < float(READ_TIMEOUT) + 5
    text = log.read_text()
    where = text[max(text.find("Traceback"), text.find('"level": "error"')) - 1500 :][:3000]
    assert "Traceback" not in text and '"level": "error"' not in text, where


def test_clients_that_stop_reading_are_cut_and_their_connections_closed(
    server: tuple[Node, Path],
) -> None:
    node, log = server
    pid = node.process.pid
    token = node.headers["Authorization"]
    request = f"GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n".encode()
    sockets = []
    try:
        for _ in range(50):  # never read: the kernel buffers fill, the queues overflow
            sock = connect(node)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(request)
            sockets.append(sock)
        for sock in sockets:  # each one is being served (peeking reads nothing)
            assert sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
        ours = {sock.getsockname()[1] for sock in sockets}

        dropped = wait_until(lambda: not ours & peer_ports(pid), WAIT)

        assert dropped, f"{len(ours & peer_ports(pid))} of 50 cut clients still have a socket"
        for sock in sockets:  # and each client sees its connection end
            assert closed_by_server(sock)
    finally:
        for sock in sockets:
            sock.close()
    text = log.read_text()
    warnings = [line for line in text.splitlines() if "stopped reading" in line]
    assert len(warnings) == 50 and all('"level": "warning"' in w for w in warnings)
    assert "Traceback" not in text and '"level": "error"' not in text
