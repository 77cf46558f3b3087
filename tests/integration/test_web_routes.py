"""The dashboard's files: served only from the static folder, with the right types,
cache headers and a strict Content-Security-Policy; ``/api/me`` says who is signed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.http.web.routes import STATIC
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.integration.test_http_api import settings_for


@pytest.fixture
def system(tmp_path: Path) -> System:
    return bootstrap(settings_for(tmp_path))


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    with TestClient(create_app(system), follow_redirects=False) as client:
        yield client


def signed_in(client: TestClient, system: System, role: Role = Role.VIEWER) -> TestClient:
    token = system.auth.create_token(role, f"{role.value}-user")
    assert client.get(f"/login?token={token}").status_code == 303
    return client


def test_the_page_comes_with_a_strict_content_security_policy(
    client: TestClient, system: System
) -> None:
    page = signed_in(client, system).get("/")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script" in page.text and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert not re.search(r"\son[a-z]+=", page.text), "no inline event handlers"


def test_files_have_their_content_type_and_a_cache_policy(
    client: TestClient, system: System
) -> None:
    signed_in(client, system)
    script = client.get("/static/js/main.mjs")
    style = client.get("/static/app.css")
    library = client.get("/static/vendor/uplot-1.6.32/uPlot.esm.js")
    license_text = client.get("/static/vendor/uplot-1.6.32/LICENSE")

    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "no-cache"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert library.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert license_text.headers["content-type"] == "text/plain; charset=utf-8"
    assert "MIT License" in license_text.text


def test_an_unchanged_file_is_not_sent_again(client: TestClient, system: System) -> None:
    signed_in(client, system)
    first = client.get("/static/js/model.mjs")

    again = client.get("/static/js/model.mjs", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/static/../routes.py",
        "/static/%2e%2e/routes.py",
        "/static/js/%2e%2e/%2e%2e/routes.py",
        "/static/..%2froutes.py",
        "/static//etc/passwd",
        "/static/index.html",  # the page is served at / only, with its headers
        "/static/js/nothing.mjs",
    ],
)
def test_nothing_outside_the_static_files_can_be_fetched(
    client: TestClient, system: System, path: str
) -> None:
    response = signed_in(client, system).get(path)

    assert response.status_code == 404
    assert "import" not in response.text


def test_the_dashboard_needs_a_session(client: TestClient) -> None:
    for path in ("/", "/static/js/main.mjs", "/api/me"):
        assert client.get(path).status_code == 401


@pytest.mark.parametrize("role", list(Role))
def test_me_tells_the_page_who_is_signed_in_and_the_idle_defaults(
    client: TestClient, system: System, role: Role
) -> None:
    me = signed_in(client, system, role).get("/api/me")

    assert me.status_code == 200
    assert me.json() == {
        "name": f"{role.value}-user",
        "role": role.value,
        "idle_defaults": {"enabled": True, "timeout_minutes": 60, "snooze_minutes": 30},
        "teams": [],
        "sees_all": True,
    }
    assert me.headers["cache-control"] == "no-store"


def test_every_file_the_page_and_its_modules_load_is_served(
    client: TestClient, system: System
) -> None:
    signed_in(client, system)
    page = client.get("/").text
    wanted = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    for module in (STATIC / "js").glob("*.mjs"):
        for target in re.findall(r"'(\.{1,2}/[^']+\.m?js)'", module.read_text()):
            wanted.add("/static/" + (Path("js") / target).as_posix())

    resolved = {re.sub(r"[^/]+/\.\./", "", path) for path in wanted}
    missing = [path for path in sorted(resolved) if client.get(path).status_code != 200]

    assert "/static/vendor/uplot-1.6.32/uPlot.esm.js" in resolved
    assert missing == []


def test_every_module_is_preloaded_so_the_page_fetches_them_at_once(
    client: TestClient, system: System
) -> None:
    page = signed_in(client, system).get("/").text
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/js/([^"]+)">', page))
    modules = {m.name for m in (STATIC / "js").glob("*.mjs")} - {"main.mjs"}

    assert preloaded == modules


def test_a_browser_without_a_session_is_sent_to_the_login_page(client: TestClient) -> None:
    page = {"Accept": "text/html,application/xhtml+xml"}
    to_login = client.get("/", headers=page, follow_redirects=False)
    login = client.get("/login", headers=page)
    api = client.get("/", headers={"Accept": "application/json"})

    assert (to_login.status_code, to_login.headers["location"]) == (303, "/login")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")
    assert (
        'name="token"' in login.text
        and "script-src 'none'" in login.headers["content-security-policy"]
    )
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"


def test_a_bad_login_link_and_an_ended_session_come_back_to_the_page_saying_why(
    client: TestClient,
) -> None:
    page = {"Accept": "text/html"}
    bad = client.get("/login?token=nope", headers=page, follow_redirects=False)
    client.cookies.set("cml_fleet_session", "ended-long-ago")
    ended = client.get("/", headers=page, follow_redirects=False)
    client.cookies.clear()
    said = client.get(ended.headers["location"], headers=page).text
    forged = client.get("/login?reason=<script>alert(1)</script>", headers=page).text

    assert bad.headers["location"] == "/login?reason=invalid"
    assert ended.headers["location"] == "/login?reason=expired"
    assert "Your session has ended" in said
    assert "<script>" not in forged  # only the page's own messages, never the request's text
