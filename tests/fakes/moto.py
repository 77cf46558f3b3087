"""Real third-party software on the AWS side: ``moto_server`` as its own process on
127.0.0.1, and a proxy in front of it that can be broken the way a real endpoint
breaks (an HTML error page instead of an AWS answer)."""

from __future__ import annotations

import http.client
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
HTML_500 = b"<!doctype html><html><title>500 Internal Server Error</title></html>"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_line(stream: Any, marker: str, timeout: float) -> threading.Thread:
    """Block until the server prints ``marker`` (read in a thread, bounded wait); the
    reader goes on draining the stream until it closes."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True)
    reader.start()
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while (left := (deadline - datetime.now(UTC)).total_seconds()) > 0:
        try:
            if marker in lines.get(timeout=left):
                return reader
        except queue.Empty:
            break
    raise TimeoutError(f"moto_server did not print {marker!r} within {timeout} s")


@contextmanager
def moto_server() -> Iterator[str]:
    """A ``moto_server`` process (EC2, CloudWatch) on a free port; its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"},
    )
    reader = None
    try:
        reader = wait_for_line(server.stderr, "Running on", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        if reader is not None:
            reader.join(timeout=10)
        assert server.stderr is not None
        server.stderr.close()


class BreakableProxy:
    """Forwards every request to ``target`` until :meth:`break_` is called; from then
    on answers an HTML 500 page, as a proxy or an endpoint in trouble does."""

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.broken = threading.Event()
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.requests += 1
                if proxy.broken.is_set():
                    self._answer(500, {"Content-Type": "text/html"}, HTML_500)
                    return
                status, headers, answer = proxy.forward(self.path, dict(self.headers), body)
                self._answer(status, headers, answer)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, path: str, headers: dict[str, str], body: bytes) -> Any:
        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def break_(self) -> None:
        self.broken.set()

    def __enter__(self) -> BreakableProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
