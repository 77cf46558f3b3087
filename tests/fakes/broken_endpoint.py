"""A real HTTP endpoint on 127.0.0.1 that fails like an AWS endpoint in trouble does:
refusing, throttling, failing, answering what is not AWS, never answering, or not
listening at all."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from infrastructure.outside.simulated.world import RegionFault


def _error(code: str) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>'
        + code.encode()
        + b"</Code><Message>as the test says</Message></Error></Errors>"
        b"<RequestID>r-1</RequestID></Response>"
    )


ANSWERS: dict[RegionFault, tuple[int, str, bytes]] = {
    RegionFault.REFUSED: (403, "text/xml", _error("UnauthorizedOperation")),
    RegionFault.THROTTLED: (503, "text/xml", _error("RequestLimitExceeded")),
    RegionFault.SERVER_ERROR: (500, "text/xml", _error("InternalError")),
    RegionFault.NOT_AWS: (500, "text/html", b"<html><h1>500 Internal Server Error</h1></html>"),
}


@contextmanager
def broken_endpoint(fault: RegionFault) -> Iterator[str]:
    """The URL of an endpoint failing as ``fault`` says, for as long as the block runs."""
    if fault is RegionFault.NOBODY_LISTENING:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}"
        return
    if fault is RegionFault.NO_ANSWER:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()  # the kernel accepts; nobody ever answers
            yield f"http://127.0.0.1:{silent.getsockname()[1]}"
        return
    status, kind, body = ANSWERS[fault]

    class Failing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
