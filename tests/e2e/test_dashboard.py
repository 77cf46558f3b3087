"""The dashboard in a real browser against a real server: what a person sees and does."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from application.commands.lifecycle import PauseWorker, pause_worker
from application.jobs.ports import UtilizationSample
from domain.status import WorkerStatus
from infrastructure.shared.clock import SystemClock
from infrastructure.store.metrics_history import open_metrics_history
from tests.e2e.conftest import PageErrors
from tests.e2e.harness import FleetServer, Tokens, event_store, seed_workers

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails in CI) with the reason
    expect = None

NAMES = ("ccna-bootcamp", "evpn-lab", "ospf-study", "sdwan-demo")
READY = "body[data-ready]"
COUNTDOWN = re.compile(r"^\d\d:\d\d$")  # under an hour: mm:ss
# The operations engine carries a pause or termination out at once: either state is right.
PAUSED = re.compile(r"^(stopping|stopped)$")
TERMINATED = re.compile(r"^(terminating|terminated)$")


@pytest.fixture
def fleet(server: FleetServer, tokens: Tokens) -> dict[str, str]:
    """Four running workers, then the server: worker name -> id."""
    ids = seed_workers(server.settings(), NAMES)
    server.start()
    return dict(zip(NAMES, ids, strict=True))


def signed_in(new_page: Any, server: FleetServer, token: str, **size: int) -> Any:
    page = new_page(**size)
    page.goto(server.login_url(token))
    page.wait_for_selector(READY)
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return page


def row(page: Any, worker_id: str) -> Any:
    return page.locator(f'#fleet-rows [data-id="{worker_id}"]')


def open_drawer(page: Any, worker_id: str, name: str) -> None:
    row(page, worker_id).get_by_role("button", name=name, exact=True).click()
    expect(page.locator("#drawer-title")).to_have_text(name)


def still_same_document(page: Any) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def test_the_fleet_loads_with_every_worker_and_goes_live(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.viewer)

    expect(page.locator("#fleet-rows [role=row]")).to_have_count(len(NAMES))
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#user-name")).to_have_text("vera")
    expect(page.locator("#user-role")).to_have_text("viewer")
    expect(row(page, fleet["evpn-lab"]).locator('[data-part="status"]')).to_have_text("running")
    expect(page.locator('[data-summary="running"]')).to_have_text("4")
    names = page.locator('#fleet-rows [data-part="name"]').all_inner_texts()
    assert names == sorted(NAMES)


def test_pausing_a_worker_changes_its_row_without_a_reload(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.operator)
    evpn = row(page, fleet["evpn-lab"])

    evpn.get_by_role("button", name="Pause evpn-lab").click()

    expect(evpn.locator('[data-part="status"]')).to_have_text(PAUSED)
    expect(evpn.locator('[data-part="paused"]')).to_be_visible()
    expect(evpn.locator('[data-part="idle"]')).to_have_text("—")
    expect(page.locator(".toast")).to_contain_text("evpn-lab: Paused (manual)")
    assert still_same_document(page)
    others = [row(page, fleet[n]).locator('[data-part="status"]') for n in NAMES if n != "evpn-lab"]
    for status in others:
        expect(status).to_have_text("running")


def test_a_change_made_by_someone_else_through_the_api_appears_within_a_second(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.viewer)
    status = row(page, fleet["ospf-study"]).locator('[data-part="status"]')

    with server.api(tokens.admin) as api:
        started = time.monotonic()
        answer = api.post(f"/api/workers/{fleet['ospf-study']}/pause")
        assert answer.status_code == 202
        expect(status).to_have_text(PAUSED, timeout=1000)
        seen_after = time.monotonic() - started

    assert seen_after < 1.0
    expect(page.locator(".toast")).to_have_count(0)  # not my command: no toast
    assert still_same_document(page)


def test_a_server_restart_is_survived_and_the_changes_missed_meanwhile_appear(
    new_page: Any,
    server: FleetServer,
    tokens: Tokens,
    fleet: dict[str, str],
    page_errors: PageErrors,
) -> None:
    page_errors.allow("ERR_CONNECTION_REFUSED")  # the browser retrying while it is down
    page = signed_in(new_page, server, tokens.admin)
    with server.api(tokens.admin) as api:  # a first live event: the browser has an id to resume
        api.put(f"/api/workers/{fleet['ccna-bootcamp']}/idle-detection", json={"enabled": False})
    expect(row(page, fleet["ccna-bootcamp"]).locator('[data-part="idle"]')).to_have_text("off")

    server.stop()
    expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
    with event_store(server.settings()) as store:  # meanwhile, someone else pauses a worker
        command = PauseWorker(UUID(fleet["sdwan-demo"]), actor="night-shift", correlation_id="x1")
        pause_worker(command, store, SystemClock())
    server.start()  # same port, same data

    sdwan = row(page, fleet["sdwan-demo"])
    expect(sdwan.locator('[data-part="status"]')).to_have_text(PAUSED, timeout=15_000)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    stats = page.evaluate("window.cmlFleet.stats")
    assert stats["resets"] == 1, "resumed from Last-Event-ID, not reloaded from fresh snapshots"
    assert still_same_document(page)


def test_a_viewer_sees_no_action_buttons(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.viewer)
    commands = page.locator("button[data-action]:not([data-action='open'])")

    expect(page.locator("#fleet-rows [role=row]")).to_have_count(len(NAMES))
    expect(commands).to_have_count(0)
    expect(page.locator("#fleet-table .thead .c-actions")).to_be_hidden()
    open_drawer(page, fleet["evpn-lab"], "evpn-lab")
    expect(page.locator("#drawer")).to_be_visible()
    expect(page.locator("#d-actions-section")).to_be_hidden()
    expect(commands).to_have_count(0)
    expect(page.locator("#d-idle")).to_be_hidden()
    expect(page.locator("#d-license")).to_be_hidden()


def test_an_operator_sees_no_admin_actions(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.operator)
    open_drawer(page, fleet["evpn-lab"], "evpn-lab")

    actions = page.locator("#d-actions button")
    expect(actions).to_have_text(["Pause", "Stop"])
    expect(page.locator("#d-idle")).to_be_visible()
    expect(page.locator("#d-license")).to_be_hidden()


def test_terminating_asks_first_and_cancelling_changes_nothing(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.admin)
    sdwan = row(page, fleet["sdwan-demo"])
    open_drawer(page, fleet["sdwan-demo"], "sdwan-demo")
    dialog = page.locator("#confirm")

    page.locator("#d-actions").get_by_role("button", name="Terminate").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Terminate sdwan-demo?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(sdwan.locator('[data-part="status"]')).to_have_text("running")

    page.locator("#d-actions").get_by_role("button", name="Terminate").click()
    dialog.get_by_role("button", name="Terminate").click()
    expect(sdwan.locator('[data-part="status"]')).to_have_text(TERMINATED)
    expect(page.locator(".toast")).to_contain_text("sdwan-demo: Termination requested")


def test_the_drawer_is_keyboard_operable_and_its_history_stays_live(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.operator)
    opener = row(page, fleet["ospf-study"]).get_by_role("button", name="ospf-study", exact=True)
    drawer = page.locator("#drawer")

    opener.focus()
    page.keyboard.press("Enter")
    expect(drawer).to_be_visible()
    expect(page.locator("#drawer-title")).to_have_text("ospf-study")
    expect(page.locator("#d-history li").first).to_contain_text("Imported")
    for group in ("AWS", "CML", "Monitoring", "License"):
        expect(page.locator("#d-fields h3", has_text=group)).to_have_count(1)
    for _ in range(25):  # focus stays inside the open dialog
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('drawer').contains(document.activeElement)")

    with server.api(tokens.admin) as api:
        api.post(f"/api/workers/{fleet['ospf-study']}/pause")
    newest = page.locator("#d-history li").first
    expect(newest).to_contain_text("Paused (manual)")
    expect(newest).to_contain_text("by ada")

    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(opener).to_be_focused()


def test_idle_auto_pause_can_be_switched_off_from_the_drawer(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.operator)
    idle = row(page, fleet["ccna-bootcamp"]).locator('[data-part="idle"]')
    expect(idle).to_have_text(COUNTDOWN)
    open_drawer(page, fleet["ccna-bootcamp"], "ccna-bootcamp")

    page.get_by_label("Pause automatically when idle").uncheck()
    page.get_by_role("button", name="Save idle settings").click()

    expect(idle).to_have_text("off")
    expect(page.locator("#d-countdown")).to_have_text("Idle auto-pause is off.")


def test_filters_and_sorting(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.viewer)
    names = page.locator('#fleet-rows [data-part="name"]')

    page.get_by_placeholder("Search name, instance, IP, tag…").fill("sd")
    expect(names).to_have_text(["sdwan-demo"])
    page.get_by_placeholder("Search name, instance, IP, tag…").fill("")
    page.get_by_role("button", name="Worker").click()  # same column again: descending
    expect(names).to_have_text(sorted(NAMES, reverse=True))
    offered = page.locator("#filter-status option").evaluate_all("os => os.map(o => o.value)")
    assert set(offered) == {"", "paused", *(s.value for s in WorkerStatus)}  # released too
    page.get_by_label("Status", exact=True).select_option("paused")
    expect(names).to_have_count(0)
    expect(page.locator("#fleet-empty")).to_have_text("No worker matches these filters.")


def test_cards_on_a_small_screen(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.operator, width=390, height=844)

    expect(page.locator("#fleet-cards li")).to_have_count(len(NAMES))
    expect(page.locator("#fleet-table")).to_be_hidden()
    expect(page.get_by_role("button", name="Pause evpn-lab")).to_be_visible()


def test_signing_out_ends_the_session(
    new_page: Any,
    server: FleetServer,
    tokens: Tokens,
    fleet: dict[str, str],
    page_errors: PageErrors,
) -> None:
    page_errors.allow("401")  # the page checks, after signing out, that it is signed out
    page = signed_in(new_page, server, tokens.viewer)

    page.get_by_role("button", name="Sign out").click()

    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-state", "signed-out")
    expect(page.locator("#user-role")).to_be_hidden()  # no role shown once signed out
    expect(page.locator("#user-name")).to_have_text("")
    status = page.evaluate("fetch('/api/me').then((r) => r.status)")
    assert status == 401


def test_a_browser_without_a_session_gets_the_login_page_and_signs_in_there(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = new_page()
    page.goto(f"{server.url}/")  # no session: not JSON, the login page
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.goto(f"{server.url}/login?token=not-a-token")  # a bad or expired login link
    expect(page.locator("#login-message")).to_contain_text("not valid")

    page.get_by_label("Token").fill(tokens.viewer)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(READY)
    expect(page.locator("#user-role")).to_have_text("viewer")


def test_a_resume_too_far_behind_reloads_the_fleet_from_fresh_snapshots(
    new_page: Any,
    server: FleetServer,
    tokens: Tokens,
    fleet: dict[str, str],
    page_errors: PageErrors,
) -> None:
    page_errors.allow("ERR_CONNECTION_REFUSED")
    server.env["CML_FLEET_SSE_MAX_REPLAY"] = "1"
    server.restart()
    page = signed_in(new_page, server, tokens.viewer)
    with server.api(tokens.admin) as api:
        api.put(f"/api/workers/{fleet['ccna-bootcamp']}/idle-detection", json={"enabled": False})
    expect(row(page, fleet["ccna-bootcamp"]).locator('[data-part="idle"]')).to_have_text("off")

    server.stop()
    with event_store(server.settings()) as store:  # more missed than the server replays
        for name in ("evpn-lab", "sdwan-demo"):
            command = PauseWorker(UUID(fleet[name]), actor="night-shift", correlation_id="x2")
            pause_worker(command, store, SystemClock())
    server.start()

    for name in ("evpn-lab", "sdwan-demo"):
        status = row(page, fleet[name]).locator('[data-part="status"]')
        expect(status).to_have_text(PAUSED, timeout=15_000)
    expect(page.locator(".toast")).to_contain_text("the fleet was reloaded")
    assert page.evaluate("window.cmlFleet.stats.resets") == 2
    assert still_same_document(page)


def test_the_drawer_charts_the_utilization_history(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    samples = [
        UtilizationSample(fleet["evpn-lab"], now - timedelta(minutes=m), 30.0 + m, 50.0, 20.0)
        for m in range(30, 0, -5)
    ]
    open_metrics_history(server.settings()).append(samples)
    page = signed_in(new_page, server, tokens.viewer)

    open_drawer(page, fleet["evpn-lab"], "evpn-lab")
    expect(page.locator("#d-chart canvas")).to_have_count(1)
    expect(page.locator("#d-chart-empty")).to_be_hidden()
    page.keyboard.press("Escape")

    open_drawer(page, fleet["ospf-study"], "ospf-study")
    expect(page.locator("#d-chart-empty")).to_be_visible()
    expect(page.locator("#d-chart canvas")).to_have_count(0)


def test_a_large_fleet_renders_only_what_is_on_screen_and_scrolls_through_all(
    new_page: Any, server: FleetServer, tokens: Tokens
) -> None:
    names = [f"lab-{i:03d}" for i in range(300)]
    seed_workers(server.settings(), names)
    server.start()
    page = signed_in(new_page, server, tokens.operator)
    rows = page.locator("#fleet-rows [role=row]")

    expect(page.locator('[data-summary="total"]')).to_have_text("300")
    expect(page.locator("#fleet-table")).to_have_attribute("aria-rowcount", "301")
    assert rows.count() < 60
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = page.locator('#fleet-rows [data-part="name"]', has_text="lab-299")
    expect(last).to_be_in_viewport()
    expect(last.locator("xpath=ancestor::*[@role='row']")).to_have_attribute("aria-rowindex", "301")
    assert rows.count() < 60

    page.get_by_placeholder("Search name, instance, IP, tag…").fill("lab-150")
    expect(page.locator('#fleet-rows [data-part="name"]')).to_have_text(["lab-150"])


def test_a_region_that_keeps_failing_shows_in_a_banner_and_the_rest_stays_live(
    server: FleetServer, tokens: Tokens, new_page: Any
) -> None:
    # us-east-1's EC2 answers an HTML page instead of AWS's answer, every time
    ids = seed_workers(server.settings(), NAMES)
    server.env |= {
        "CML_FLEET_SCHEDULER_ENABLED": "true",
        "CML_FLEET_METRICS_INTERVAL_SECONDS": "0.5",
        "CML_FLEET_JOB_BACKOFF_MAX_SECONDS": "1",
        "CML_FLEET_SIM_REGION_FAULTS": '{"us-east-1": "not an AWS answer"}',
    }
    server.start()
    with server.api(tokens.viewer) as api:
        deadline = time.monotonic() + 30
        while api.get("/readyz").json()["status"] != "degraded":  # bounded polling
            assert time.monotonic() < deadline, "the server never reported the broken region"
            time.sleep(0.1)

    page = signed_in(new_page, server, tokens.viewer)

    banner = page.locator("#health")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("region:us-east-1")
    expect(banner).to_contain_text("the rest of the fleet carries on")
    expect(page.locator("#fleet-rows [role=row]")).to_have_count(len(ids))
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def test_the_stream_recovers_from_a_refusal_and_asks_to_sign_in_once_the_token_is_revoked(
    server: FleetServer, tokens: Tokens, new_page: Any, page_errors: PageErrors
) -> None:
    page_errors.allow("429")  # the browser reports the refused stream in the console
    page_errors.allow("401")
    seed_workers(server.settings(), NAMES)
    server.env |= {"CML_FLEET_SSE_MAX_STREAMS_PER_CREDENTIAL": "1"}
    server.start()
    headers = {"Authorization": f"Bearer {tokens.viewer}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        # another client of the same token holds its only stream: the page's gets 429
        with client.stream("GET", "/api/events") as held:
            assert held.status_code == 200
            page = new_page()
            page.goto(server.login_url(tokens.viewer))
            expect(page.locator("#conn")).to_have_attribute("data-state", re.compile("offline"))
        # the slot is free again: the page's own retry gets in, no reload
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        page.wait_for_selector(READY)
        expect(page.locator("#fleet-rows [role=row]")).to_have_count(len(NAMES))

    with server.api(tokens.admin) as admin:
        listed = admin.get("/api/admin/tokens").json()["items"]
        viewer_id = next(t["id"] for t in listed if t["role"] == "viewer")
        assert admin.delete(f"/api/admin/tokens/{viewer_id}").status_code == 204

    # its stream ends, the reconnection is refused: the page asks to sign in again
    expect(page.locator("#signed-out")).to_be_visible(timeout=15_000)
    expect(page.locator("#conn")).to_have_attribute("data-state", "signed-out")


def test_an_admin_puts_a_worker_in_a_team_from_the_drawer(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.admin)
    open_drawer(page, fleet["ospf-study"], "ospf-study")

    page.get_by_label("Team").fill("red")
    page.get_by_role("button", name="Save team").click()

    team = page.locator("#d-fields dt", has_text="Team").locator("xpath=following-sibling::dd[1]")
    expect(team).to_have_text("red")
    expect(page.locator(".toast", has_text="Moved to team red")).to_be_visible()
    with server.api(tokens.admin) as api:
        assert api.get(f"/api/workers/{fleet['ospf-study']}").json()["team"] == "red"


def test_an_operator_cannot_change_a_team(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    page = signed_in(new_page, server, tokens.operator)
    open_drawer(page, fleet["ospf-study"], "ospf-study")

    expect(page.locator("#d-idle")).to_be_visible()
    expect(page.locator("#d-team")).to_be_hidden()


def test_the_drawer_says_when_the_workers_schedule_stops_it(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    end = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    hours = {"days": "mon-sun", "start": "00:00", "end": f"{end:%H:%M}"}
    if end.date() != now.date():  # the end is past midnight: hours from now's minute on
        hours["start"] = f"{now - timedelta(minutes=1):%H:%M}"
    with server.api(tokens.admin) as api:
        schedule = {"timezone": "UTC", "periods": [hours]}
        assert api.put("/api/schedules/class", json=schedule).status_code == 200
        tagged = api.patch(f"/api/workers/{fleet['evpn-lab']}/tags",
                           json={"add": {"cml-fleet:schedule": "class"}})  # fmt: skip
        assert tagged.status_code == 200
    page = signed_in(new_page, server, tokens.viewer)

    open_drawer(page, fleet["evpn-lab"], "evpn-lab")

    expect(page.locator("#d-schedule")).to_have_text(
        re.compile(rf"^Schedule class: stops {end:%H:%M} UTC, in (1 h 5\d min|2 h 00 min)\.$")
    )
    open_drawer_of_other = fleet["ospf-study"]
    page.keyboard.press("Escape")
    open_drawer(page, open_drawer_of_other, "ospf-study")
    expect(page.locator("#d-schedule")).to_be_hidden()


def test_schedules_and_budgets_change_live_in_the_rows_of_an_open_dashboard(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    # The dashboard reads schedules and budgets once a minute: what follows within
    # seconds came by the stream (schedule.changed, budget.changed).
    page = signed_in(new_page, server, tokens.viewer)
    now = datetime.now(UTC)
    end = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    hours = {"days": "mon-sun", "start": "00:00", "end": f"{end:%H:%M}"}
    if end.date() != now.date():  # the end is past midnight: hours from now's minute on
        hours["start"] = f"{now - timedelta(minutes=1):%H:%M}"
    scheduled = row(page, fleet["evpn-lab"]).locator('[data-part="scheduled"]')
    with server.api(tokens.admin) as api:
        tagged = api.patch(f"/api/workers/{fleet['evpn-lab']}/tags",
                           json={"add": {"cml-fleet:schedule": "class"}})  # fmt: skip
        assert tagged.status_code == 200
        expect(scheduled).to_have_text("no schedule named class")

        schedule = {"timezone": "UTC", "periods": [hours]}
        assert api.put("/api/schedules/class", json=schedule).status_code == 200
        expect(scheduled).to_have_text(
            re.compile(rf"^stops {end:%H:%M}, in (1 h 5\d min|2 h 00 min)$")
        )
        paused = {**schedule, "off": "pause"}
        assert api.put("/api/schedules/class", json=paused).status_code == 200
        expect(scheduled).to_have_text(re.compile(rf"^pauses {end:%H:%M}, in "))
        expect(row(page, fleet["ospf-study"]).locator('[data-part="scheduled"]')).to_be_hidden()

        assert api.delete("/api/schedules/class").status_code == 204
        expect(scheduled).to_have_text("no schedule named class")

        budget = {"amount": 1000.0, "scope": "fleet"}
        assert api.put("/api/budgets/live-money", json=budget).status_code == 200
        line = page.locator('#budget-list [data-budget="live-money"] .budget-text')
        expect(line).to_have_text(re.compile(r"^live-money \(the fleet\): "))
        assert api.delete("/api/budgets/live-money").status_code == 204
        expect(line).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True  # never reloaded


def test_the_budgets_show_spend_and_forecast_and_the_cost_per_day(
    new_page: Any, server: FleetServer, tokens: Tokens, fleet: dict[str, str]
) -> None:
    with server.api(tokens.admin) as api:
        budget = {"amount": 1000.0, "scope": "fleet", "enforce": True}
        assert api.put("/api/budgets/lab-money", json=budget).status_code == 200
    page = signed_in(new_page, server, tokens.viewer)

    line = page.locator('#budget-list [data-budget="lab-money"] .budget-text')
    expect(line).to_have_text(
        re.compile(
            r"^lab-money \(the fleet\): \$\d+\.\d\d of \$1,000\.00 \(\d+%\), "
            r"forecast \$[\d,]+\.\d\d — enforced$"
        )
    )
    expect(page.locator("#budget-none")).to_be_hidden()
    today = datetime.now(UTC).date().isoformat()
    expect(page.locator(f'#daily-chart rect[data-day="{today}"]')).to_have_count(1)
    expect(page.locator("#daily-total")).to_have_text(re.compile(r"this month$"))
