"""What a browser and an attacker see: security headers, tokens kept only as hashes,
and failed logins slowed down to a crawl."""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access import auth
from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.http.web.routes import STATIC
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.logs import JsonFormatter
from tests.integration.test_http_api import settings_for

DASHBOARD_POLICY = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
}


@pytest.fixture
def system(tmp_path: Path, clock: FakeClock) -> System:
    return bootstrap(settings_for(tmp_path, login_failures_per_minute=10), clock=clock)


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    with TestClient(create_app(system), follow_redirects=False) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_answers_are_not_cached_sniffed_framed_or_referred(
    client: TestClient, system: System
) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")

    for response in (
        client.get("/api/workers", headers=bearer(token)),
        client.get("/api/workers/not-a-uuid", headers=bearer(token)),  # a problem
        client.get("/api/workers"),  # 401
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_dashboard_page_is_served_under_a_strict_content_security_policy(
    client: TestClient, system: System
) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")

    page = client.get("/", headers=bearer(token))
    style = client.get("/static/app.css", headers=bearer(token))

    policy = {part.strip() for part in page.headers["content-security-policy"].split(";")}
    assert policy >= DASHBOARD_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert style.headers["x-content-type-options"] == "nosniff"
    assert style.headers["cache-control"] == "no-cache"  # the file keeps its own policy


def test_the_dashboard_needs_nothing_inline_that_the_policy_would_block() -> None:
    html = (STATIC / "index.html").read_text()

    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)  # no inline script
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers
    assert "javascript:" not in html


def test_tokens_and_sessions_are_kept_only_as_hashes(
    client: TestClient, system: System, tmp_path: Path
) -> None:
    token = system.auth.create_token(Role.ADMIN, "alice")
    client.get(f"/login?token={token}")
    session, csrf = client.cookies["cml_fleet_session"], client.cookies["cml_fleet_csrf"]

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    stored = b"".join(p.read_bytes() for p in files)
    for secret in (token, session, csrf):
        assert secret.encode() not in stored
        assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored


def test_a_token_is_found_by_its_hash_and_checked_in_constant_time(system: System) -> None:
    token = system.auth.create_token(Role.OPERATOR, "oscar")
    near_miss = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert system.auth.identify(token) == auth.Identity("oscar", Role.OPERATOR)
    assert system.auth.identify(near_miss) is None
    assert auth.same_secret(token, auth.digest(token))
    assert not auth.same_secret(near_miss, auth.digest(token))
    assert not auth.same_secret(None, auth.digest(token))
    # The lookup is by hash; the one comparison of secrets is hmac's constant-time one.
    assert "hmac.compare_digest" in inspect.getsource(auth.same_secret)
    assert "digest(token)" in inspect.getsource(auth.AuthStore.identify)


def test_ten_failed_logins_in_a_minute_then_429_until_the_minute_has_passed(
    client: TestClient, system: System, clock: FakeClock
) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")
    failures = [client.get(f"/login?token=guess-{n}").status_code for n in range(10)]

    refused = client.get("/login?token=guess-10")
    valid = client.get(f"/login?token={token}")  # a valid credential is never refused
    clock.advance(timedelta(seconds=61))
    later = client.get("/login?token=guess-11")

    assert failures == [401] * 10
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert valid.status_code == 303
    assert later.status_code == 401


def test_successful_logins_do_not_count_towards_the_limit(
    client: TestClient, system: System
) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")

    failures = [client.get(f"/login?token=guess-{n}").status_code for n in range(9)]
    successes = [client.get(f"/login?token={token}").status_code for _ in range(20)]
    reads = [client.get("/api/workers", headers=bearer(token)).status_code for _ in range(20)]

    assert failures == [401] * 9
    assert set(successes) == {303} and set(reads) == {200}


def test_failed_bearer_tokens_are_limited_per_client_address(system: System) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")
    app = create_app(system)
    with (
        TestClient(app, client=("10.0.0.1", 5000)) as guesser,
        TestClient(app, client=("10.0.0.2", 5000)) as colleague,
    ):
        failures = [
            guesser.get("/api/workers", headers=bearer(f"guess-{n}")).status_code for n in range(10)
        ]
        blocked = guesser.get("/api/workers", headers=bearer("guess-10"))
        valid = guesser.get("/api/workers", headers=bearer(token))  # same address
        elsewhere = colleague.get("/api/workers", headers=bearer("guess-0"))

    assert failures == [401] * 10
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
    assert valid.status_code == 200  # a valid credential is never refused by the limiter
    assert elsewhere.status_code == 401


def test_one_token_prefix_tried_from_many_addresses_is_limited(system: System) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")
    app = create_app(system)
    statuses = []
    for n in range(11):
        with TestClient(app, client=(f"10.0.1.{n}", 5000)) as client:
            statuses.append(client.get("/api/workers", headers=bearer(token + "x")).status_code)

    assert statuses == [401] * 10 + [429]


def test_login_tokens_never_reach_the_logs(
    client: TestClient, system: System, tmp_path: Path
) -> None:
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(lambda record: not record.name.startswith("httpx"))  # the client's own
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    try:
        token = system.auth.create_token(Role.ADMIN, "alice")
        client.get(f"/login?token={token}")
        client.get("/api/workers", headers=bearer(token))
        client.get("/login?token=wrong-guess-123")
    finally:
        logging.getLogger().removeHandler(handler)

    assert "/login" in logs.getvalue()  # the requests were logged...
    assert (
        token not in logs.getvalue() and "wrong-guess-123" not in logs.getvalue()
    )  # ...not secrets
