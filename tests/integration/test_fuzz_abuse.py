"""Requests no client should send, sent raw to a real uvicorn on 127.0.0.1 (so nothing
normalises them on the way): oversized bodies, huge and garbage headers, odd content
types, and paths that try to climb out of the dashboard's static folder. Each gets a
clean 4xx (problem details where the app answers) and the server keeps serving."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import NEW_WORKER, settings_for
from tests.integration.test_sse_stream import Server, serving

TRAVERSALS = (
    "/static/../auth.sqlite",
    "/static/../../http/app.py",
    "/static/..%2f..%2fhttp%2fapp.py",
    "/static/%2e%2e/%2e%2e/http/app.py",
    "/static/%252e%252e/routes.py",
    "/static/js/../../routes.py",
    "/static/..\\..\\routes.py",
    "/static//etc/passwd",
    "/static/%00index.html",
)

# What uvicorn answers, before the app is called, to a request HTTP does not allow.
PROTOCOL_ERROR = (400, b"Invalid HTTP request received.")


class Raw:
    """One HTTP/1.1 exchange over a fresh connection; the answer's status, headers, body."""

    def __init__(self, server: Server) -> None:
        self.port = server.port
        self.token = server.admin

    async def send(self, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(-1), timeout=10)
        writer.close()
        top, _, content = answer.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0].split()[1]), headers, content

    async def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        extra: tuple[str, ...] = (),
        auth: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        lines += [f"Authorization: Bearer {self.token}"] if auth else []
        lines += [f"Content-Length: {len(body)}"] if body or method != "GET" else []
        return await self.send("\r\n".join([*lines, *extra]) + "\r\n", body)

    async def still_serves(self) -> None:
        status, _, _ = await self.request("GET", "/api/workers")
        assert status == 200


@pytest.fixture
async def raw(tmp_path: Path) -> Raw:
    system = bootstrap(settings_for(tmp_path, max_body_bytes=1024))
    async with serving(system) as server:
        yield Raw(server)


def assert_problem(answer: tuple[int, dict[str, str], bytes], status: int) -> None:
    code, headers, body = answer
    assert code == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_no_path_climbs_out_of_the_static_folder(raw: Raw, target: str) -> None:
    status, _, body = await raw.request("GET", target)

    assert status in {400, 404}, (target, status)
    assert b"import" not in body and b"SQLite" not in body and b"root:" not in body
    await raw.still_serves()


async def test_an_oversized_body_is_refused_before_it_is_read(raw: Raw) -> None:
    big = json.dumps(NEW_WORKER | {"tags": {"k": "v" * 4000}}).encode()
    head = ("Content-Type: application/json",)

    assert_problem(await raw.request("POST", "/api/workers", big, head), 413)
    await raw.still_serves()


async def test_a_body_longer_than_declared_or_chunked_past_the_limit_is_refused(raw: Raw) -> None:
    chunk = b"x" * 800
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    head = "\r\n".join(
        [
            "POST /api/workers HTTP/1.1",
            "Host: 127.0.0.1",
            "Connection: close",
            f"Authorization: Bearer {raw.token}",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ]
    )

    assert_problem(await raw.send(head + "\r\n", chunked), 413)
    await raw.still_serves()


async def test_huge_headers_are_refused_and_the_server_lives_on(raw: Raw) -> None:
    answer = await raw.request("GET", "/api/workers", extra=(f"X-Junk: {'a' * 200_000}",))

    assert_problem(answer, 431)
    await raw.still_serves()


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-7", "%%%"],
)
async def test_a_body_that_is_not_json_is_a_clean_4xx(raw: Raw, content_type: str) -> None:
    body = b"name=lab&region=us-east-1"
    answer = await raw.request("POST", "/api/workers", body, (f"Content-Type: {content_type}",))

    assert 400 <= answer[0] < 500
    assert_problem(answer, answer[0])


@pytest.mark.parametrize(
    "extra",
    [
        ("Idempotency-Key: a", "Idempotency-Key: b"),
        (f"Idempotency-Key: {'k' * 10_000}",),
        ("Idempotency-Key: \x01\x02\x7f",),
        ("Idempotency-Key: ",),
        ("X-Correlation-ID: one", "X-Correlation-ID: two"),
        (f"X-Correlation-ID: {'c' * 10_000}",),
        ("X-Correlation-ID: ../../etc\x7f",),
        ("Authorization: Bearer a", "Authorization: Bearer b"),
        ("Content-Length: 5", "Content-Length: 500"),
    ],
)
async def test_duplicate_and_garbage_headers_get_no_server_error(
    raw: Raw, extra: tuple[str, ...]
) -> None:
    body = json.dumps(NEW_WORKER).encode()
    head = ("Content-Type: application/json", *extra)

    status, headers, content = await raw.request("POST", "/api/workers", body, head)

    assert status < 500, content[:300]
    if status >= 400 and headers.get("content-type", "").startswith("text/plain"):
        assert (status, content) == PROTOCOL_ERROR  # uvicorn refused it: the app never saw it
    elif status >= 400:
        assert headers["content-type"] == "application/problem+json"
    correlation = headers.get("x-correlation-id", "")
    assert len(correlation) <= 128 and "\x7f" not in correlation
    await raw.still_serves()
