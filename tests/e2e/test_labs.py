"""A worker's labs in the dashboard, against a real server: listed in the drawer,
stopped from there and seen stopped live, downloaded, filtered by owner."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infrastructure.outside.simulated import new_world
from infrastructure.shared.clock import SystemClock
from tests.contract.test_cml_port import TOPOLOGY
from tests.e2e.harness import FleetServer, Tokens, seed_workers
from tests.e2e.test_dashboard import open_drawer, row, signed_in, still_same_document

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails in CI) with the reason
    expect = None

LAB = "e2e routing lab"
CML_LINK = re.compile(r"^https://[^/]+/lab/[0-9a-f-]{36}$")


@pytest.fixture
def lab_host(server: FleetServer, tokens: Tokens) -> str:
    """One running worker with a started lab of our own (and whatever labs its users
    made), the server started, one metrics cycle run: the worker's id."""
    settings = server.settings()
    (worker_id,) = seed_workers(settings, ["lab-host"])
    world = new_world(settings, SystemClock())  # the journaled world the server replays
    (instance,) = world.in_region("eu-west-1")
    lab_id = world.import_lab(instance, TOPOLOGY, LAB)
    world.lab(instance, lab_id, "start")
    server.start()
    with server.api(tokens.admin) as api:
        ran = api.post("/api/admin/jobs/metrics/run?wait=true")
        assert ran.status_code == 200, ran.text
    return worker_id


def lab_row(page: Any) -> Any:
    return page.locator("#d-labs tbody tr", has_text=LAB)


def test_an_operator_stops_a_lab_from_the_drawer_and_sees_it_stopped_live(
    new_page: Any, server: FleetServer, tokens: Tokens, lab_host: str
) -> None:
    page = signed_in(new_page, server, tokens.operator)
    expect(row(page, lab_host).locator('[data-part="labsRunning"]')).to_contain_text("running")
    open_drawer(page, lab_host, "lab-host")
    lab = lab_row(page)
    expect(lab.locator('[data-part="state"]')).to_have_text("started")
    expect(lab.locator("td").nth(2)).to_have_text("2/2")  # nodes running of all
    expect(lab.get_by_role("link", name=LAB, exact=True)).to_have_attribute("href", CML_LINK)
    expect(lab.get_by_role("button", name=f"Delete {LAB}")).to_have_count(0)  # admins only

    lab.get_by_role("button", name=f"Stop {LAB}").click()

    expect(lab.locator('[data-part="state"]')).to_have_text("stopped")
    expect(lab.locator("td").nth(2)).to_have_text("0/2")
    expect(page.locator(".toast").last).to_contain_text("lab-host: Lab stop done")
    expect(page.locator("#d-history li").first).to_contain_text("Lab stop done")
    assert still_same_document(page)


def test_a_viewer_sees_labs_without_actions_and_downloads_one(
    new_page: Any, server: FleetServer, tokens: Tokens, lab_host: str
) -> None:
    page = signed_in(new_page, server, tokens.viewer)
    open_drawer(page, lab_host, "lab-host")
    lab = lab_row(page)
    expect(lab.locator('[data-part="state"]')).to_have_text("started")
    expect(lab.get_by_role("button")).to_have_count(0)
    expect(page.locator("#d-lab-import")).to_be_hidden()

    with page.expect_download() as download:
        lab.get_by_role("link", name=f"Download {LAB}").click()
    document = yaml.safe_load(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["lab"]["title"] == LAB and len(document["nodes"]) == 2


def test_an_admin_imports_a_lab_from_a_yaml_file_and_wipes_it_after_confirming(
    new_page: Any, server: FleetServer, tokens: Tokens, lab_host: str, tmp_path: Any
) -> None:
    page = signed_in(new_page, server, tokens.admin)
    open_drawer(page, lab_host, "lab-host")
    topology = tmp_path / "pair.yaml"
    topology.write_text(yaml.safe_dump(TOPOLOGY), encoding="utf-8")

    form = page.locator("#d-lab-import")
    form.locator('input[type="file"]').set_input_files(str(topology))
    form.get_by_label("Title").fill("from a file")
    form.get_by_role("button", name="Import lab").click()
    imported = page.locator("#d-labs tbody tr", has_text="from a file")
    expect(imported.locator('[data-part="state"]')).to_have_text("stopped")

    imported.get_by_role("button", name="Wipe from a file").click()
    dialog = page.locator("#confirm")
    expect(dialog).to_contain_text("Wipe from a file?")
    dialog.get_by_role("button", name="Wipe").click()
    expect(imported.locator('[data-part="state"]')).to_have_text("wiped")


def test_the_fleet_filters_by_lab_owner(
    new_page: Any, server: FleetServer, tokens: Tokens, lab_host: str
) -> None:
    page = signed_in(new_page, server, tokens.viewer)
    rows = page.locator("#fleet-rows [role=row]")
    expect(rows).to_have_count(1)
    page.get_by_label("Lab owner").fill("nobody-has-labs")
    expect(rows).to_have_count(0)
    page.get_by_label("Lab owner").fill("cml-fleet")  # who owns what cml-fleet imported
    expect(rows).to_have_count(1)
