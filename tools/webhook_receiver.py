"""A webhook receiver for trying cml-fleet's notifications on this machine, with only
Python's standard library (copy it as a start for your own).

    python -m tools.webhook_receiver --port 9090 --secret 'a-secret-of-16-chars+'

It checks each request's Standard Webhooks signature (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) with the secret given to cml-fleet, refuses
a wrong or stale one with 401, remembers the ids it has taken (a repeat is answered 200
and not counted again), and prints one line per event. ``GET /received`` gives what it
took as JSON (the tests read it); ``--fail N`` answers 503 to the first N requests.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def signature_ok(secret: str, headers: Any, body: bytes, now: float) -> bool:
    """The Standard Webhooks check: HMAC-SHA256 of "id.timestamp.body", base64, "v1,"."""
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not stamp or not stamp.isdigit():
        return False
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False  # an old request replayed
    signed = f"{msg_id}.{stamp}.".encode() + body
    key = secret.encode()  # a "whsec_..." secret: its base64, decoded
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    given = (headers.get("webhook-signature") or "").split()
    return any(hmac.compare_digest(expected, g) for g in given)


class Received:
    def __init__(self, fail: int = 0, delay: float = 0.0, skew: float = 0.0) -> None:
        self.delay = delay  # seconds taken by each request (a slow receiver)
        self.skew = skew  # seconds this receiver's clock is ahead (tests with a fake clock)
        self.lock = threading.Lock()
        self.requests = 0  # every signed request, repeats included
        self.events: list[dict[str, Any]] = []  # each event once
        self.seen: set[str] = set()
        self.repeats = 0
        self.refused = 0
        self.fail = fail

    def take(self, events: list[dict[str, Any]]) -> None:
        with self.lock:
            self.requests += 1
            for event in events:
                key = str(event.get("id") or json.dumps(event, sort_keys=True))
                if key in self.seen:
                    self.repeats += 1
                    continue
                self.seen.add(key)
                self.events.append(event)
                print(_line(event), flush=True)


def _line(event: dict[str, Any]) -> str:
    if "text" in event:
        return str(event["text"])
    data = event.get("data", {})
    name = event.get("cmlfleetworkername") or data.get("worker_id")
    return f"{event.get('time')} {data.get('type')} {name} by {data.get('actor')}"


def handler(received: Received, secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # sender gone
                self.wfile.write(body)

        def do_GET(self) -> None:
            with received.lock:
                state = {
                    "requests": received.requests,
                    "repeats": received.repeats,
                    "refused": received.refused,
                    "events": received.events,
                }
            self._answer(200, json.dumps(state).encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if not signature_ok(secret, self.headers, body, time.time() + received.skew):
                with received.lock:
                    received.refused += 1
                return self._answer(401)
            with received.lock:
                failing = received.fail > 0
                received.fail -= 1 if failing else 0
            if failing:
                return self._answer(503)
            parsed = json.loads(body)
            if received.delay:
                time.sleep(received.delay)  # the work a real receiver does with it
            received.take(parsed if isinstance(parsed, list) else [parsed])
            self._answer(200)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--secret", required=True, help="the secret given to cml-fleet")
    parser.add_argument("--fail", type=int, default=0, help="answer 503 to the first N")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        (args.host, args.port), handler(Received(args.fail, args.delay), args.secret)
    )
    print(f"receiving webhooks on http://{args.host}:{server.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
