"""The browser's single sign-on, driven over HTTP against a real OpenID provider: the
code flow succeeds once, for the browser that started it, and never leaves a provider
token with the browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infrastructure.http.app import create_app
from infrastructure.http.security import SESSION_COOKIE
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import settings_for
from tests.oidc_harness import Provider, free_port, oidc_settings, sign_in_at_provider

SITE = "http://testserver"
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.")


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    keys = tmp_path_factory.mktemp("oidc") / "keys.json"
    found = Provider(free_port(), keys, [SITE]).start()
    yield found
    found.stop()


@pytest.fixture
def app(provider: Provider, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, **oidc_settings(provider, tmp_path / "secret"))
    with TestClient(create_app(bootstrap(settings)), follow_redirects=False) as client:
        yield client


def start(client: TestClient) -> str:
    begun = client.get("/auth/login")
    assert begun.status_code == 303
    return str(begun.headers["location"])


def callback_path(url: str) -> str:
    return url.removeprefix(SITE)


def test_signing_in_gives_a_session_cookie_and_no_token(
    app: TestClient, provider: Provider
) -> None:
    authorize = start(app)
    assert "code_challenge_method=S256" in authorize and "nonce=" in authorize

    back = sign_in_at_provider(authorize, "olga", f"{SITE}/auth/callback")
    answer = app.get(callback_path(back))

    assert answer.status_code == 200 and 'url=/"' in answer.text
    assert SESSION_COOKIE in app.cookies
    assert not any(JWT.search(value) for value in app.cookies.values())
    me = app.get("/api/me").json()
    assert (me["name"], me["role"], me["teams"]) == ("Olga Operator", "operator", ["red"])


def test_a_callback_is_used_once(app: TestClient, provider: Provider) -> None:
    back = sign_in_at_provider(start(app), "vera", f"{SITE}/auth/callback")
    assert app.get(callback_path(back)).status_code == 200
    app.cookies.delete(SESSION_COOKIE)

    replayed = app.get(callback_path(back))

    assert replayed.headers["location"] == "/login?reason=sso-failed"
    assert app.get("/api/me").status_code == 401


def test_a_callback_in_another_browser_is_refused(
    app: TestClient, provider: Provider, tmp_path: Path
) -> None:
    back = sign_in_at_provider(start(app), "vera", f"{SITE}/auth/callback")
    other = TestClient(app.app, follow_redirects=False)  # no state cookie: not who began

    answer = other.get(callback_path(back))

    assert answer.headers["location"] == "/login?reason=sso-failed"
    assert SESSION_COOKIE not in other.cookies


@pytest.mark.parametrize(
    "query",
    ["error=access_denied&state=x", "code=&state=x", "code=forged&state=forged", ""],
)
def test_a_refused_or_made_up_callback_opens_no_session(app: TestClient, query: str) -> None:
    start(app)

    answer = app.get(f"/auth/callback?{query}")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?reason=sso-failed"
    assert SESSION_COOKIE not in app.cookies


def test_a_person_with_no_role_gets_a_403_page_saying_so(app: TestClient) -> None:
    back = sign_in_at_provider(start(app), "nobody", f"{SITE}/auth/callback")

    answer = app.get(callback_path(back))
    page = app.get(answer.headers["location"])

    assert answer.headers["location"] == "/login?reason=no-role"
    assert page.status_code == 403 and "no role in cml-fleet" in page.text
    assert SESSION_COOKIE not in app.cookies


def test_sign_in_is_off_without_an_issuer(tmp_path: Path) -> None:
    with TestClient(create_app(bootstrap(settings_for(tmp_path))), follow_redirects=False) as c:
        assert c.get("/auth/login").headers["location"] == "/login?reason=sso-off"
        assert "Sign in with" not in c.get("/login").text
