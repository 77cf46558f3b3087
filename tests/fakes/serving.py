"""An ASGI app on a real uvicorn at 127.0.0.1, in a thread, for sync and async tests.

The listening socket is bound before the thread starts, so clients can connect at
once (the kernel queues them until uvicorn accepts): nothing waits for start-up.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class ServerThread:
    """``start()`` serves ``app`` on ``url``; ``stop()`` shuts it down."""

    def __init__(
        self, app: Any, *, certfile: Path | None = None, keyfile: Path | None = None
    ) -> None:
        # proto=IPPROTO_TCP, or asyncio skips TCP_NODELAY and each answer waits ~40 ms
        # for a delayed ACK (Nagle) on a kept-alive connection.
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port: int = self.socket.getsockname()[1]
        scheme = "https" if certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            lifespan="off",
            ws="none",
            loop="asyncio",
            log_level="warning",
            timeout_graceful_shutdown=2,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
        if self.thread.is_alive():
            raise RuntimeError("the fake server did not stop within 10 s")
