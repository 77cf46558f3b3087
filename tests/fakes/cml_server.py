"""A fake CML 2.9 REST API server for the HTTP adapter's tests (Starlette + uvicorn).

It serves the CML of every running instance of a simulated world at
``{url}/w/{host}/api/v0/...``; :meth:`FakeCml.base_url` gives a client that root
for a host, or a closed port when the host does not answer (unknown, stopped,
booting, or made unreachable): the network part of the fake.

Routing comes from the spec itself: a request the spec does not define, a query
parameter it does not list, or an answer its schemas do not allow is recorded in
``violations`` (tests assert it stays empty), so the fake cannot drift from the API.
Knobs: :meth:`expire_tokens` (the next call gets a 401), ``reject_tokens`` (every
token is refused), :meth:`fail_next` (5xx answers), :meth:`hang_next` (no answer
until released), :attr:`unreachable` hosts.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infrastructure.outside.simulated import SimWorld
from infrastructure.outside.simulated.instance import SimInstance
from tests.fakes import cml_api
from tests.fakes.cml_api import Answer, Call, error
from tests.fakes.cml_spec import NO_BODY, CmlSpec, Operation, load_spec
from tests.fakes.serving import ServerThread, closed_port

USERNAME, PASSWORD = "cml-fleet", "fake-cml-password-5b1e"
HANG_LIMIT_SECONDS = 30.0


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    host: str
    operation: str
    """``"METHOD /template"`` of the spec."""
    query: dict[str, str]
    authorization: str | None


class FakeCml:
    """The CML API of a simulated world's workers, over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        world: SimWorld,
        *,
        username: str = USERNAME,
        password: str = PASSWORD,
        token_lifetime: timedelta | None = None,
        spec: CmlSpec | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.world, self.username, self.password = world, username, password
        self.token_lifetime = token_lifetime
        self.spec = spec or load_spec()
        self.seen: list[Seen] = []
        self.violations: list[str] = []
        self.logins: Counter[str] = Counter()
        self.unreachable: set[str] = set()
        self.reject_tokens = False
        self._lock = threading.Lock()
        self._tokens: dict[str, dict[str, datetime]] = {}
        self._failures: list[int] = []
        self._hangs = 0
        self._release = threading.Event()
        app = Starlette(
            routes=[
                Route(
                    "/w/{host}/api/v0/{rest:path}",
                    self._endpoint,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                )
            ]
        )
        certfile, keyfile = tls or (None, None)
        self.server = ServerThread(app, certfile=certfile, keyfile=keyfile)
        self.url = self.server.url
        self.closed_port = closed_port()

    # ------------------------------------------------------------ running

    def __enter__(self) -> FakeCml:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.stop()

    def base_url(self, host: str) -> str:
        """Where a client finds ``host``'s API: here, or nowhere when it does not answer."""
        if host in self.unreachable or self._instance(host) is None:
            return f"http://127.0.0.1:{self.closed_port}/api/v0"
        return f"{self.url}/w/{host}/api/v0"

    # -------------------------------------------------------------- knobs

    def expire_tokens(self) -> None:
        """Every token issued so far expires (the next authorized call gets a 401)."""
        with self._lock:
            self._tokens.clear()

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` requests (any operation) answer ``status``."""
        with self._lock:
            self._failures += [status] * count

    def hang_next(self, count: int = 1) -> None:
        """The next ``count`` requests get no answer until :meth:`release` (or 30 s)."""
        with self._lock:
            self._hangs += count
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    def count(self, operation: str | None = None) -> int:
        """Requests received (for ``"METHOD /template"``, or all)."""
        with self._lock:
            return sum(1 for s in self.seen if operation in (None, s.operation))

    # ------------------------------------------------------------ serving

    async def _endpoint(self, request: Request) -> Response:
        host, path = request.path_params["host"], "/" + request.path_params["rest"]
        found = self.spec.match(request.method, path)
        if found is None:
            return self._violation(404, f"{request.method} {path} is not in the spec")
        operation, values = found
        query = dict(request.query_params)
        with self._lock:
            self.seen.append(Seen(host, operation.key, query, request.headers.get("authorization")))
            self.violations += self.spec.query_errors(operation, query)
            fault = self._failures.pop(0) if self._failures else None
            hang, self._hangs = self._hangs > 0, max(0, self._hangs - 1)
        if hang:
            await anyio.to_thread.run_sync(self._release.wait, HANG_LIMIT_SECONDS)
        if fault is not None:
            status, body = error(fault, "Service unavailable")
        else:
            status, body = self._answer(operation, host, values, request, await request.body())
        return self._send(operation, status, body)

    def _answer(
        self, operation: Operation, host: str, values: dict[str, str], request: Request, raw: bytes
    ) -> Answer:
        with self.world.lock:
            instance = self._instance(host)
            if instance is None:  # stopped while the client was connecting
                return error(502, "Bad Gateway")
            if operation.needs_auth and not self._authorized(host, request):
                return error(401, "No authorization token provided or token expired")
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return error(400, "Invalid JSON")
            invalid = self.spec.request_errors(operation, body)
            invalid += self.spec.path_errors(operation, values)
            if invalid:
                return error(400, "Invalid input at " + ", ".join(invalid))
            if operation.key == "POST /authenticate":
                return self._login(host, instance, body)
            handler = cml_api.HANDLERS.get(operation.key)
            if handler is None:
                self.violations.append(f"{operation.key} is in the spec but not in the fake")
                return error(500, "Not implemented by the fake")
            query = dict(request.query_params)
            return handler(Call(instance, values, body, self.world.now(), self.world, query))

    def _send(self, operation: Operation, status: int, body: Any) -> Response:
        problems = self.spec.response_errors(operation, status, body)
        if problems:
            return self._violation(500, "; ".join(problems))
        if body is NO_BODY:
            return Response(status_code=status)
        return JSONResponse(body, status_code=status)

    def _violation(self, status: int, problem: str) -> Response:
        with self._lock:
            self.violations.append(problem)
        return JSONResponse({"code": status, "description": problem}, status_code=status)

    # ------------------------------------------------------- auth and hosts

    def _login(self, host: str, instance: SimInstance, body: dict[str, str]) -> Answer:
        if (body["username"], body["password"]) != (self.username, self.password):
            return error(403, "Authentication failed!")
        token = _jwt(body["username"])
        with self._lock:
            self._tokens.setdefault(host, {})[token] = self.world.now()
            self.logins[host] += 1
        instance.cml.service_login(self.world.now())
        return 200, token

    def _authorized(self, host: str, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            issued = self._tokens.get(host, {}).get(token)
        if scheme.lower() != "bearer" or issued is None or self.reject_tokens:
            return False
        lifetime = self.token_lifetime
        return lifetime is None or self.world.now() - issued < lifetime

    def _instance(self, host: str) -> SimInstance | None:
        """The instance whose CML answers at ``host`` now."""
        with self.world.lock:
            instance = self.world.resolve(host)
            answering = instance is not None and instance.state == "running"
            if instance is None or not answering or not instance.cml.answers(self.world.now()):
                return None
            return instance


def _jwt(subject: str) -> str:
    """A token shaped like CML's JWTs (three base64url parts)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = part(json.dumps({"sub": subject, "jti": secrets.token_hex(8)}).encode())
    return f"{header}.{claims}.{part(secrets.token_bytes(32))}"
