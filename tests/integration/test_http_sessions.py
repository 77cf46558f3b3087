"""Browser login: the URL printed at start gives a session cookie; changes need CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.http.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.integration.test_http_api import NEW_WORKER, settings_for


@pytest.fixture
def system(tmp_path: Path) -> System:
    return bootstrap(settings_for(tmp_path))


@pytest.fixture
def browser(system: System) -> Iterator[TestClient]:
    with TestClient(create_app(system), follow_redirects=False) as client:
        yield client


def log_in(browser: TestClient, system: System, role: Role = Role.ADMIN) -> str:
    """Opens the login URL; returns the CSRF token the page's script would read."""
    token = system.auth.create_token(role, "alice")
    response = browser.get(f"/login?token={token}")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    return str(browser.cookies[CSRF_COOKIE])


def test_the_login_url_sets_a_strict_http_only_session_cookie(
    browser: TestClient, system: System
) -> None:
    token = system.auth.create_token(Role.ADMIN, "alice")

    response = browser.get(f"/login?token={token}")

    cookies = {c.split("=")[0]: c for c in response.headers.get_list("set-cookie")}
    session = cookies[SESSION_COOKIE].lower()
    assert "httponly" in session and "samesite=strict" in session and "path=/" in session
    assert "secure" not in session  # cookie_secure is off for plain-HTTP local use
    assert "httponly" not in cookies[CSRF_COOKIE].lower()  # the page's script reads it
    assert token not in response.headers.get("set-cookie", "")
    assert response.headers["cache-control"] == "no-store"


def test_a_secure_deployment_marks_the_cookies_secure(tmp_path: Path) -> None:
    system = bootstrap(settings_for(tmp_path, cookie_secure=True))
    token = system.auth.create_token(Role.VIEWER, "vera")
    with TestClient(create_app(system), follow_redirects=False) as client:
        response = client.get(f"/login?token={token}")

    assert all("secure" in c.lower() for c in response.headers.get_list("set-cookie"))


def test_a_logged_in_browser_reads_without_a_token(browser: TestClient, system: System) -> None:
    log_in(browser, system, Role.VIEWER)

    assert browser.get("/api/workers").status_code == 200


def test_a_change_with_the_cookie_needs_the_csrf_header(
    browser: TestClient, system: System
) -> None:
    csrf = log_in(browser, system)

    forged = browser.post("/api/workers", json=NEW_WORKER)
    wrong = browser.post("/api/workers", json=NEW_WORKER, headers={CSRF_HEADER: "guess"})
    genuine = browser.post("/api/workers", json=NEW_WORKER, headers={CSRF_HEADER: csrf})

    assert (forged.status_code, wrong.status_code, genuine.status_code) == (403, 403, 202)
    assert forged.headers["content-type"] == "application/problem+json"
    assert CSRF_HEADER in forged.json()["detail"]


def test_a_bad_login_token_gets_no_session(browser: TestClient) -> None:
    response = browser.get("/login?token=nonsense")

    assert response.status_code == 401
    assert SESSION_COOKIE not in browser.cookies


def test_logging_out_ends_the_session(browser: TestClient, system: System) -> None:
    csrf = log_in(browser, system)

    assert browser.post("/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    browser.cookies.clear()  # the browser honours the expired cookies

    assert browser.get("/api/workers").status_code == 401


def test_an_old_session_cookie_no_longer_works_after_logout(
    browser: TestClient, system: System
) -> None:
    csrf = log_in(browser, system)
    stolen = str(browser.cookies[SESSION_COOKIE])
    browser.post("/logout", headers={CSRF_HEADER: csrf})

    browser.cookies.clear()
    browser.cookies.set(SESSION_COOKIE, stolen)

    assert browser.get("/api/workers").status_code == 401


def test_the_login_form_posts_the_token_so_it_never_is_in_a_url(
    browser: TestClient, system: System
) -> None:
    token = system.auth.create_token(Role.VIEWER, "vera")
    page = browser.get("/login")
    assert 'method="post"' in page.text and "{sso}" not in page.text

    signed_in = browser.post("/login", data={"token": token})
    refused = TestClient(browser.app, follow_redirects=False).post(
        "/login", data={"token": "not-a-token"}, headers={"Accept": "text/html"}
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    crowded = browser.post("/login", content="&".join(f"f{i}=1" for i in range(50)), headers=form)

    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert browser.get("/api/me").json()["name"] == "vera"
    assert refused.headers["location"] == "/login?reason=invalid"
    assert crowded.status_code == 200  # no token in it: the page again, not an error
