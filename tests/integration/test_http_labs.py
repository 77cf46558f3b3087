"""The lab endpoints as a user meets them: a worker's labs and the fleet's, start,
stop, wipe, delete, download and import, each with its role; bad input refused with
a problem saying why, and nothing changed. The real system (simulated cloud and CML,
operations engine on), the metrics job run by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from application.jobs.metrics import MetricsJob
from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from infrastructure.wiring.builders import build_metrics_job
from tests.contract.test_cml_port import TOPOLOGY
from tests.fakes.instances import import_body, launch_in
from tests.integration.test_http_api import Api, settings_for

YAML = {"Content-Type": "application/yaml"}
UNKNOWN_LAB = "90f84e38-a71c-4d57-8d90-00fa8a197385"


class LabApi(Api):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.job: MetricsJob = build_metrics_job(self.system)

    def cycle(self) -> None:
        """One metrics cycle on the app's loop, on a read model that has every write."""
        position = self.system.store.max_position()
        assert self.client.portal.call(self.system.read_model.wait_until, position, 5.0)
        self.client.portal.call(self.job.run, self.system.clock.now())

    def settled(self, position: int) -> None:
        """Until the operations engine has carried out what was requested up to ``position``."""
        reactor = self.system.reactor
        assert reactor is not None
        assert self.client.portal.call(reactor.wait_until, position, 10.0)

    def running_worker(self, labs: int = 2) -> str:
        instance_id = launch_in(self.system)
        body = import_body(instance_id, name=f"w-{instance_id[-4:]}")
        answer = self.client.post("/api/workers/import", json=body, headers=self.admin)
        assert answer.status_code == 200, answer.text
        world = self.system.cloud.world  # type: ignore[attr-defined]
        instance = world.find(instance_id)
        with world.lock:
            instance.cml.labs.clear()
        for n in range(labs):
            world.import_lab(instance, TOPOLOGY, f"lab {n}")
        self.cycle()  # CML seen ready, labs written
        return str(answer.json()["worker_id"])

    def labs(self, worker_id: str) -> dict[str, dict[str, Any]]:
        answer = self.client.get(f"/api/workers/{worker_id}/labs", headers=self.viewer)
        assert answer.status_code == 200, answer.text
        return {lab["title"]: lab for lab in answer.json()["items"]}

    def act(self, worker_id: str, lab_id: str, action: str, who: dict[str, str]) -> Any:
        path = f"/api/workers/{worker_id}/labs/{lab_id}"
        if action == "delete":
            return self.client.delete(path, headers=who)
        return self.client.post(f"{path}/{action}", headers=who)

    def history(self, worker_id: str) -> list[dict[str, Any]]:
        answer = self.client.get(f"/api/workers/{worker_id}/history", headers=self.viewer)
        return list(answer.json()["items"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[LabApi]:
    chosen = settings_for(tmp_path, operations_enabled=True, read_wait_timeout_seconds=2.0)
    system = bootstrap(chosen)
    with TestClient(create_app(system)) as client:
        yield LabApi(system, client)


def test_a_workers_labs_are_listed_as_cml_has_them_with_a_link_to_each(api: LabApi) -> None:
    worker_id = api.running_worker()
    labs = api.labs(worker_id)
    assert sorted(labs) == ["lab 0", "lab 1"]
    lab = labs["lab 0"]
    assert (lab["state"], lab["node_count"], lab["running_nodes"], lab["link_count"]) == (
        "STOPPED", 2, 0, 1,
    )  # fmt: skip
    assert lab["owner_username"] == "cml-fleet" and lab["worker_name"].startswith("w-")
    assert lab["cml_url"].startswith("https://") and lab["cml_url"].endswith(lab["lab_id"])
    assert lab["created"].endswith("Z") and lab["seen_at"].endswith("Z")


def test_an_operator_stops_and_starts_a_lab_and_history_says_who_and_how_it_ended(
    api: LabApi,
) -> None:
    worker_id = api.running_worker()
    lab_id = api.labs(worker_id)["lab 0"]["lab_id"]

    started = api.act(worker_id, lab_id, "start", api.operator)
    assert started.status_code == 202, started.text
    api.settled(started.json()["position"])
    assert api.labs(worker_id)["lab 0"]["state"] == "STARTED"  # at once, not next cycle
    stopped = api.act(worker_id, lab_id, "stop", api.operator)
    api.settled(stopped.json()["position"])
    assert api.labs(worker_id)["lab 0"]["state"] == "STOPPED"

    types = [(e["type"], e["actor"]) for e in api.history(worker_id)[:4]]
    assert types == [
        ("worker.lab.operation.done", "operations"),
        ("worker.lab.operation.requested", "oscar"),
        ("worker.lab.operation.done", "operations"),
        ("worker.lab.operation.requested", "oscar"),
    ]
    assert api.history(worker_id)[0]["payload"]["lab_state"] == "STOPPED"


def test_wiping_a_running_lab_fails_with_cmls_reason(api: LabApi) -> None:
    worker_id = api.running_worker()
    lab_id = api.labs(worker_id)["lab 0"]["lab_id"]
    api.settled(api.act(worker_id, lab_id, "start", api.operator).json()["position"])

    wiped = api.act(worker_id, lab_id, "wipe", api.operator)
    api.settled(wiped.json()["position"])

    failed = api.history(worker_id)[0]
    assert failed["type"] == "worker.lab.operation.failed"
    assert "stop it first" in failed["payload"]["reason"]
    assert api.labs(worker_id)["lab 0"]["state"] == "STARTED"


def test_each_lab_operation_needs_its_role(api: LabApi) -> None:
    worker_id = api.running_worker()
    lab_id = api.labs(worker_id)["lab 1"]["lab_id"]
    refused = [
        (action, name)
        for action, least in (
            ("start", "operator"),
            ("stop", "operator"),
            ("wipe", "operator"),
            ("delete", "admin"),
        )
        for name, who in (("viewer", api.viewer), ("operator", api.operator))
        if (name, least) in {("viewer", "operator"), ("viewer", "admin"), ("operator", "admin")}
        and api.act(worker_id, lab_id, action, who).status_code == 403
    ]
    assert sorted(refused) == sorted(
        [
            ("start", "viewer"),
            ("stop", "viewer"),
            ("wipe", "viewer"),
            ("delete", "viewer"),
            ("delete", "operator"),
        ]
    )
    imported = api.client.post(
        f"/api/workers/{worker_id}/labs/import", content=yaml.safe_dump(TOPOLOGY),
        headers=api.operator | YAML,
    )  # fmt: skip
    assert imported.status_code == 403
    assert api.client.get(f"/api/workers/{worker_id}/labs").status_code == 401
    assert not [e for e in api.history(worker_id) if "lab" in e["type"]]  # nothing recorded
    downloaded = api.client.get(
        f"/api/workers/{worker_id}/labs/{lab_id}/download", headers=api.viewer
    )
    assert downloaded.status_code == 200


def test_an_admin_deletes_a_lab_and_it_is_gone(api: LabApi) -> None:
    worker_id = api.running_worker()
    lab_id = api.labs(worker_id)["lab 1"]["lab_id"]
    deleted = api.act(worker_id, lab_id, "delete", api.admin)
    assert deleted.status_code == 202
    api.settled(deleted.json()["position"])
    assert sorted(api.labs(worker_id)) == ["lab 0"]


def test_a_downloaded_lab_imports_back_as_a_new_lab(api: LabApi) -> None:
    worker_id = api.running_worker()
    lab_id = api.labs(worker_id)["lab 0"]["lab_id"]
    downloaded = api.client.get(
        f"/api/workers/{worker_id}/labs/{lab_id}/download", headers=api.viewer
    )
    assert downloaded.headers["content-type"].startswith("application/yaml")
    assert "attachment" in downloaded.headers["content-disposition"]

    imported = api.client.post(
        f"/api/workers/{worker_id}/labs/import?title=the%20copy", content=downloaded.content,
        headers=api.admin | YAML,
    )  # fmt: skip
    assert imported.status_code == 202, imported.text
    api.settled(imported.json()["position"])

    copy = api.labs(worker_id)["the copy"]
    assert (copy["node_count"], copy["link_count"]) == (2, 1)
    requested = next(e for e in api.history(worker_id) if e["type"].endswith("requested"))
    assert requested["payload"]["digest"].startswith("sha256:")
    assert "nodes" not in str(requested["payload"])  # the topology is not in the log


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"lab: [unclosed", "not valid YAML at line 1"),
        (b"a: &x [1]\nb: *x\n", "anchors"),
        (b"- just\n- a list\n", "YAML mapping"),
        (b"lab: {title: t}\nnodes: []\nlinks: []\n", "'version' is a required property"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_a_bad_topology_is_refused_saying_why_and_nothing_is_recorded(
    api: LabApi, body: bytes, says: str
) -> None:
    worker_id = api.running_worker(labs=0)
    before = api.system.store.max_position()
    answer = api.client.post(
        f"/api/workers/{worker_id}/labs/import", content=body, headers=api.admin | YAML
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert says in answer.text
    assert api.system.store.max_position() == before


def test_imports_too_big_or_not_yaml_and_bad_ids_are_refused(api: LabApi) -> None:
    worker_id = api.running_worker(labs=0)
    base = f"/api/workers/{worker_id}/labs"
    huge = b"# " + b"x" * api.system.settings.lab_import_max_bytes
    assert (
        api.client.post(f"{base}/import", content=huge, headers=api.admin | YAML).status_code == 413
    )
    as_json = api.client.post(f"{base}/import", json=TOPOLOGY, headers=api.admin)
    assert as_json.status_code == 415
    long_title = api.client.post(
        f"{base}/import?title={'t' * 65}", content=yaml.safe_dump(TOPOLOGY),
        headers=api.admin | YAML,
    )  # fmt: skip
    assert long_title.status_code == 422 and "title" in long_title.text
    not_an_id = api.client.post(f"{base}/not-a-lab/start", headers=api.operator)
    assert not_an_id.status_code == 404  # names no lab, like a worker id that is not a UUID
    not_v4 = api.client.post(f"{base}/{UNKNOWN_LAB.replace('-4d57', '-1d57')}/start",
                             headers=api.operator)  # fmt: skip
    assert not_v4.status_code == 422 and "lab_id" in not_v4.text
    missing = api.client.get(f"{base}/{UNKNOWN_LAB}/download", headers=api.viewer)
    assert missing.status_code == 404
    assert api.client.get(f"/api/workers/{UNKNOWN_LAB}/labs", headers=api.viewer).status_code == 404


def test_labs_on_a_worker_that_is_not_ready_are_refused_with_409_saying_why(
    api: LabApi,
) -> None:
    accepted = api.import_("stopped", name="asleep")
    worker_id = accepted["worker_id"]
    api.worker(accepted)  # the read model has it (the download reads the worker there)
    answer = api.act(worker_id, UNKNOWN_LAB, "start", api.operator)
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["worker_status"] == "stopped" and "start it first" in problem["detail"]
    download = api.client.get(
        f"/api/workers/{worker_id}/labs/{UNKNOWN_LAB}/download", headers=api.viewer
    )
    assert download.status_code == 409
    imported = api.client.post(
        f"/api/workers/{worker_id}/labs/import", content=yaml.safe_dump(TOPOLOGY),
        headers=api.admin | YAML,
    )  # fmt: skip
    assert imported.status_code == 409
    waiting = api.system.labs._run("SELECT COUNT(*) FROM lab_imports")
    assert waiting == [(0,)]  # the refused import's topology is not left behind


def test_the_fleets_labs_are_filtered_and_paged(api: LabApi) -> None:
    first, second = api.running_worker(labs=3), api.running_worker(labs=2)
    seen, cursor = [], None
    while True:
        query = "/api/labs?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(query, headers=api.viewer).json()
        seen += [(lab["worker_id"], lab["lab_id"]) for lab in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 == len(set(seen))
    only = api.client.get(f"/api/labs?worker={second}", headers=api.viewer).json()["items"]
    assert {lab["worker_id"] for lab in only} == {second} and len(only) == 2
    owned = api.client.get("/api/labs?owner=cml-fleet&state=STOPPED", headers=api.viewer).json()
    assert len(owned["items"]) == 5
    assert api.client.get("/api/labs?owner=nobody", headers=api.viewer).json()["items"] == []
    for bad in ("state=RUNNING", "worker=7", "cursor=zz", "limit=0"):
        answer = api.client.get(f"/api/labs?{bad}", headers=api.viewer)
        assert answer.status_code == 422, bad
        assert bad.split("=")[0] in answer.text
    assert sorted({w for w, _ in seen}) == sorted({first, second})


def test_import_is_no_lab_id_a_wrong_method_lists_the_right_one(api: LabApi) -> None:
    worker_id = api.running_worker(labs=0)
    for method in ("GET", "DELETE", "OPTIONS"):
        answer = api.client.request(
            method, f"/api/workers/{worker_id}/labs/import", headers=api.admin
        )
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "POST"
