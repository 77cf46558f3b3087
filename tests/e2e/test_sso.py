"""Single sign-on in a real browser: a real OpenID provider (``oidc-provider``), a real
``cml-fleet serve``; the person signs in on the provider's login page, uses the
dashboard, stays signed in across a token refresh, and signs out at both ends."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PageErrors
from tests.e2e.harness import FleetServer, Tokens, seed_workers
from tests.oidc_harness import Provider, free_port, oidc_settings

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails in CI) with the reason
    expect = None

READY = "body[data-ready]"
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.")


@pytest.fixture
def sso_server(tmp_path: Path, tokens: Tokens, server: FleetServer) -> Iterator[FleetServer]:
    """A provider, then a server that trusts it; one worker to act on."""
    server.port = free_port()
    site = f"http://127.0.0.1:{server.port}"
    provider = Provider(free_port(), tmp_path / "keys.json", [site]).start()
    settings = oidc_settings(
        provider,
        tmp_path / "client-secret",
        # Refresh as soon as possible: the access token lives 300 s, the margin is as long.
        oidc_refresh_margin_seconds=300,
    )
    server.env = {f"CML_FLEET_{k.upper()}": str(v) for k, v in settings.items()}
    server.env["CML_FLEET_PUBLIC_URL"] = site
    server.env["CML_FLEET_LOG_LEVEL"] = "info"
    server.log = tmp_path / "serve.log"
    seed_workers(server.settings(), ["ccna-bootcamp"])
    server.start()
    yield server
    server.stop()
    provider.stop()


def sign_in(page: Any, server: FleetServer, who: str) -> None:
    page.goto(f"{server.url}/")
    page.get_by_role("link", name="Sign in with the test provider").click()
    page.locator('input[name="login"]').fill(who)  # the provider's own login page
    page.locator('input[name="password"]').fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_selector(READY)


def sso_count(server: FleetServer, admin: str, event: str) -> float:
    text = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {admin}"}, timeout=5
    ).text
    found = re.search(rf'^cml_fleet_sso_total{{event="{event}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_sign_in_act_refresh_and_sign_out_with_the_provider(
    new_page: Any, sso_server: FleetServer, tokens: Tokens, page_errors: PageErrors
) -> None:
    page_errors.allow("Failed to load resource")  # the provider's page asks for a web font
    page_errors.allow("401")  # after signing out, the page checks it is signed out
    page = new_page()
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url))

    sign_in(page, sso_server, "olga")

    expect(page.locator("#user-name")).to_have_text("Olga Operator")
    expect(page.locator("#user-role")).to_have_text("operator")
    assert page.url == f"{sso_server.url}/"
    ours = [url for url in seen if url.startswith(sso_server.url)]
    assert not any("token" in url or JWT.search(url) for url in ours), ours
    cookies = {c["name"]: c for c in page.context.cookies(sso_server.url)}
    assert cookies["cml_fleet_session"]["httpOnly"] is True
    assert not any(JWT.search(c["value"]) for c in cookies.values())  # no provider token

    # Acts: pauses the worker from its row; the history names her.
    page.get_by_role("button", name="Pause ccna-bootcamp").click()
    expect(page.locator(".toast")).to_contain_text("ccna-bootcamp: Paused")

    # The session's tokens are refreshed (due at once here) and it goes on.
    deadline = time.monotonic() + 20
    while sso_count(sso_server, tokens.admin, "refreshes") < 1:
        assert time.monotonic() < deadline, "no refresh within 20 s"
        assert page.evaluate("fetch('/api/me').then((r) => r.status)") == 200
    assert page.evaluate("fetch('/api/me').then((r) => r.json()).then((m) => m.name)") == (
        "Olga Operator"
    )

    # Signs out: here, then at the provider (it asks), then back to our login page.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.locator("#login-message")).to_have_text("You are signed out.")
    assert page.evaluate("fetch('/api/me').then((r) => r.status)") == 401

    # Signing in again goes through the provider's login page again (its session ended).
    page.get_by_role("link", name="Sign in with the test provider").click()
    expect(page.locator('input[name="login"]')).to_be_visible()

    history = httpx.get(
        f"{sso_server.url}/api/workers",
        headers={"Authorization": f"Bearer {tokens.admin}"},
        timeout=5,
    ).json()["items"][0]
    events = httpx.get(
        f"{sso_server.url}/api/workers/{history['id']}/history",
        headers={"Authorization": f"Bearer {tokens.admin}"},
        timeout=5,
    ).text
    assert "Olga Operator <olga>" in events and not JWT.search(events)
    stream = replayed_stream(sso_server, tokens.admin)
    assert "Olga Operator <olga>" in stream and not JWT.search(stream)
    assert sso_server.log is not None
    log = sso_server.log.read_text()
    assert "signed in with single sign-on: Olga Operator <olga> (operator)" in log
    assert not JWT.search(log), "a token reached the log"


def replayed_stream(server: FleetServer, token: str) -> str:
    """The event stream from the start of the log, up to the first pause (bounded)."""
    text = ""
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": "0"}
    with httpx.stream("GET", f"{server.url}/api/events", headers=headers, timeout=10) as answer:
        for chunk in answer.iter_text():
            text += chunk
            if "worker.paused" in text or len(text) > 1_000_000:
                break
    return text


def test_a_person_without_a_role_is_told_so_and_gets_no_session(
    new_page: Any, sso_server: FleetServer, page_errors: PageErrors
) -> None:
    page_errors.allow("Failed to load resource")  # the web font, and the 403 page itself
    page = new_page()
    page.goto(f"{sso_server.url}/login")
    page.get_by_role("link", name="Sign in with the test provider").click()
    page.locator('input[name="login"]').fill("nobody")
    page.locator('input[name="password"]').fill("any password")
    page.get_by_role("button", name="Sign-in").click()

    expect(page.locator("#login-message")).to_contain_text("has no role in cml-fleet")
    assert page.evaluate("fetch('/api/me').then((r) => r.status)") == 401
