"""An admin asks cml-fleet to discover the CML instances already running in EC2: those
matching the filters are imported once, known ones are skipped, and workers whose
instance is gone are recorded as terminated. The answer says how many of each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.outside.simulated.images import CML_IMAGE, IMAGES, OTHER_IMAGE
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from infrastructure.wiring.demo import launch_with_past
from tests.operations_fleet import OpsFleet, now_clock

CML = {"Product": "cml", "Team": "net"}


class Admin:
    def __init__(self, fleet: OpsFleet, client: TestClient) -> None:
        self.fleet, self.client = fleet, client
        auth = fleet.system.auth
        self.admin = {"Authorization": f"Bearer {auth.create_token(Role.ADMIN, 'ada')}"}
        self.viewer = {"Authorization": f"Bearer {auth.create_token(Role.VIEWER, 'vic')}"}

    def instance(
        self, name: str, tags: dict[str, str], region: str = "eu-west-1", ami_id: str = CML_IMAGE
    ) -> str:
        world = self.fleet.world
        launched = launch_with_past(
            world, name, region, "m5.2xlarge", tags, age=timedelta(hours=1), ami_id=ami_id
        )
        return launched.instance_id

    def discover(self) -> dict[str, Any]:
        answer = self.client.post("/api/admin/discovery", headers=self.admin)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def workers(self) -> dict[str, dict[str, Any]]:
        position = self.fleet.store.max_position()
        page = self.client.get(
            f"/api/workers?limit=500&min_position={position}", headers=self.viewer
        ).json()
        return {w["instance_id"]: w for w in page["items"]}


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    base = {
        "data_dir": data_dir,
        "demo_workers": 0,
        "scheduler_enabled": False,
        "discovery_tags": {"Product": "cml*"},
        "discovery_regions": ("eu-west-1", "us-east-1"),
    }
    return Settings(**(base | overrides))


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    fleet = OpsFleet(bootstrap(settings_for(tmp_path), clock=now_clock()))
    with TestClient(create_app(fleet.system)) as client:
        yield Admin(fleet, client)


def test_matching_instances_are_imported_once_and_others_left_alone(admin: Admin) -> None:
    lab = admin.instance("lab-a", CML)
    east = admin.instance("lab-b", {"Product": "cml-2.9"}, region="us-east-1")
    admin.instance("web-server", {"Product": "nginx"})
    admin.instance("no-tags", {})

    first = admin.discover()
    second = admin.discover()

    assert (first["matched"], first["imported"], first["already_known"]) == (2, 2, 0)
    assert (second["matched"], second["imported"], second["already_known"]) == (2, 0, 2)
    assert first["regions"] == ["eu-west-1", "us-east-1"] and first["failed_regions"] == []
    workers = admin.workers()
    assert set(workers) == {lab, east}
    assert workers[lab]["name"] == "lab-a" and workers[lab]["created_by"] == "job:discovery"
    assert workers[lab]["tags"]["Team"] == "net" and workers[lab]["status"] == "running"


def test_a_known_worker_whose_instance_is_gone_is_recorded_as_terminated(admin: Admin) -> None:
    kept = admin.instance("kept", CML)
    gone = admin.instance("gone", CML)
    admin.discover()
    assert set(admin.workers()) == {kept, gone}  # known: the read model has both
    admin.fleet.cloud.console_terminate(gone)
    admin.fleet.clock.advance(timedelta(hours=2))  # EC2 forgets terminated instances

    report = admin.discover()

    assert (report["matched"], report["imported"], report["terminated"]) == (1, 0, 1)
    workers = admin.workers()
    assert workers[kept]["status"] == "running"
    terminated = admin.client.get("/api/workers?status=terminated", headers=admin.viewer).json()[
        "items"
    ]
    assert [w["instance_id"] for w in terminated] == [gone]


def test_only_an_admin_may_run_discovery(admin: Admin) -> None:
    refused = admin.client.post("/api/admin/discovery", headers=admin.viewer)

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


def test_the_discovery_job_is_scheduled_only_when_switched_on(tmp_path: Path) -> None:
    off = bootstrap(settings_for(tmp_path / "off"))
    on = bootstrap(settings_for(tmp_path / "on", discovery_enabled=True))

    assert "discovery" not in [j.id for j in off.scheduler.jobs()]
    assert "discovery" in [j.id for j in on.scheduler.jobs()]


@contextmanager
def admin_with(tmp_path: Path, **settings: Any) -> Iterator[Admin]:
    fleet = OpsFleet(bootstrap(settings_for(tmp_path, **settings), clock=now_clock()))
    with TestClient(create_app(fleet.system)) as client:
        yield Admin(fleet, client)


def test_instances_from_an_image_named_like_cml_are_imported_and_others_not(
    tmp_path: Path,
) -> None:
    with admin_with(tmp_path, discovery_ami_name_patterns=("cml-*",), discovery_tags={}) as admin:
        older = next(ami for ami, name in IMAGES.items() if name == "cml-2.9.0-1-x86_64")
        lab = admin.instance("lab-a", {}, ami_id=CML_IMAGE)
        east = admin.instance("lab-b", {}, region="us-east-1", ami_id=older)
        admin.instance("web-server", {}, ami_id=OTHER_IMAGE)
        admin.instance("unknown-image", {}, ami_id="ami-0000000000000beef")

        report = admin.discover()

        assert (report["matched"], report["imported"]) == (2, 2)
        workers = admin.workers()
        assert set(workers) == {lab, east}
        assert workers[lab]["ami_id"] == CML_IMAGE and workers[east]["ami_id"] == older


def test_when_no_image_matches_the_name_patterns_no_instance_is_imported(
    tmp_path: Path,
) -> None:
    settings = {"discovery_ami_name_patterns": ("cml-9.*",), "discovery_tags": {}}
    with admin_with(tmp_path, **settings) as admin:
        admin.instance("lab-a", {}, ami_id=CML_IMAGE)
        admin.instance("web-server", {}, ami_id=OTHER_IMAGE)

        report = admin.discover()

        assert (report["matched"], report["imported"], report["failed_regions"]) == (0, 0, [])
        assert admin.workers() == {}


def test_name_patterns_add_to_the_ami_ids(tmp_path: Path) -> None:
    settings = {
        "discovery_ami_name_patterns": ("cml-2.9.0-3-*",),
        "discovery_ami_ids": (OTHER_IMAGE,),
        "discovery_tags": {},
    }
    with admin_with(tmp_path, **settings) as admin:
        lab = admin.instance("lab-a", {}, ami_id=CML_IMAGE)
        web = admin.instance("web-server", {}, ami_id=OTHER_IMAGE)
        admin.instance("unknown-image", {}, ami_id="ami-0000000000000beef")

        report = admin.discover()

        assert report["imported"] == 2 and set(admin.workers()) == {lab, web}
