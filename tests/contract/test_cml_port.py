"""The CML port contract: what every implementation (simulated, httpx) must do."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
import yaml

from application.cloud import Launch
from application.cml import LabAction, license_status_of
from application.ports_errors import CmlError, CmlUnreachable
from domain.status import LicenseStatus
from tests.contract.conftest import FleetHarness

LAB_STATES = {"DEFINED_ON_CORE", "STOPPED", "STARTED"}


async def running_cml(fleet: FleetHarness) -> str:
    """The address of a worker whose CML is up and ready."""
    instance_id = await fleet.cloud.run_instance(
        fleet.region,
        Launch(
            instance_type="m5.2xlarge", name="cml", client_token=str(uuid4()), ami_id=fleet.ami_id
        ),
    )
    fleet.let_time_pass(timedelta(minutes=10))
    (info,) = await fleet.cloud.describe_instances(fleet.region, [instance_id])
    host = info.public_dns or info.public_ip
    assert host is not None
    return host


async def test_a_ready_worker_describes_itself(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    info = await fleet.cml.system_information(host)
    health = await fleet.cml.system_health(host)
    stats = await fleet.cml.system_stats(host)

    assert info.version.startswith("2.") and info.ready
    assert health.valid and health.controller_valid and health.computes >= 1
    for percent in (stats.cpu_percent, stats.memory_percent, stats.disk_percent):
        assert percent is not None and 0 <= percent <= 100
    assert stats.running_nodes is not None and stats.running_nodes >= 0


async def test_labs_and_telemetry_events_are_listed(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    fleet.let_time_pass(timedelta(hours=2))  # users come and go on a busy worker
    labs = await fleet.cml.labs(host)
    events = await fleet.cml.telemetry_events(host)

    assert all(lab.state in LAB_STATES and lab.node_count >= 0 for lab in labs)
    for lab in labs:  # whose it is, how big, and since when (what the lab list shows)
        assert lab.owner_id and lab.owner_username and lab.link_count is not None
        assert lab.created is not None and lab.modified is not None
        assert lab.created <= lab.modified and lab.created.tzinfo is not None
    started = [lab for lab in labs if lab.state == "STARTED"]
    assert all(lab.running_nodes == lab.node_count for lab in started)
    times = [e.timestamp for e in events]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert {e.category for e in events} >= {"start_lab"}


async def test_a_license_registration_completes_and_can_be_undone(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    if license_status_of(await fleet.cml.licensing(host)) is LicenseStatus.REGISTERED:
        await fleet.cml.deregister_license(host)
    assert license_status_of(await fleet.cml.licensing(host)) is LicenseStatus.EVALUATION

    await fleet.cml.register_license(host, "c2VjcmV0LXRva2Vu")
    fleet.let_time_pass(timedelta(minutes=2))
    assert license_status_of(await fleet.cml.licensing(host)) is LicenseStatus.REGISTERED

    await fleet.cml.deregister_license(host)
    with pytest.raises(CmlError) as already:
        await fleet.cml.deregister_license(host)
    assert already.value.status == 400


async def test_a_malformed_token_is_refused_and_a_bad_one_fails_later(
    fleet: FleetHarness,
) -> None:
    host = await running_cml(fleet)
    if license_status_of(await fleet.cml.licensing(host)) is LicenseStatus.REGISTERED:
        await fleet.cml.deregister_license(host)
    with pytest.raises(CmlError) as refused:
        await fleet.cml.register_license(host, "not a token!")
    assert refused.value.status == 400
    assert "not a token" not in str(refused.value)

    await fleet.cml.register_license(host, "bad-token-123")
    fleet.let_time_pass(timedelta(minutes=2))
    licensing = await fleet.cml.licensing(host)
    assert license_status_of(licensing) is LicenseStatus.FAILED
    assert licensing.failure


async def test_an_address_nobody_answers_on_is_unreachable(fleet: FleetHarness) -> None:
    with pytest.raises(CmlUnreachable):
        await fleet.cml.system_information("198.51.100.7")


async def test_a_stopped_worker_does_not_answer(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    (info,) = [
        i
        for i in await fleet.cloud.describe_instances(fleet.region)
        if host in (i.public_dns, i.public_ip)
    ]
    await fleet.cloud.stop_instance(fleet.region, info.instance_id)
    with pytest.raises(CmlUnreachable):
        await fleet.cml.system_stats(host)


async def test_an_operator_starts_stops_wipes_and_deletes_a_lab(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    fleet.let_time_pass(timedelta(hours=2))  # users have made labs
    lab = (await fleet.cml.labs(host))[0]

    async def state() -> str | None:
        return next((seen.state for seen in await fleet.cml.labs(host) if seen.id == lab.id), None)

    for _ in range(2):  # starting a started lab does nothing
        await fleet.cml.act_on_lab(host, lab.id, LabAction.START)
    assert await state() == "STARTED"
    for action in (LabAction.WIPE, LabAction.DELETE):  # not while it runs
        with pytest.raises(CmlError) as refused:
            await fleet.cml.act_on_lab(host, lab.id, action)
        assert refused.value.status == 400
    assert await state() == "STARTED"
    await fleet.cml.act_on_lab(host, lab.id, LabAction.STOP)
    assert await state() == "STOPPED"
    await fleet.cml.act_on_lab(host, lab.id, LabAction.WIPE)
    assert await state() == "DEFINED_ON_CORE"
    await fleet.cml.act_on_lab(host, lab.id, LabAction.DELETE)
    assert await state() is None
    with pytest.raises(CmlError) as unknown:
        await fleet.cml.act_on_lab(host, lab.id, LabAction.STOP)
    assert unknown.value.status == 404


TOPOLOGY = {
    "lab": {"version": "0.2.2", "title": "Imported pair", "description": "two routers"},
    "nodes": [
        {"id": f"n{i}", "label": f"r{i}", "node_definition": "iosv", "x": 100 * i, "y": 0}
        for i in range(2)
    ],
    "links": [{"id": "l0", "i1": "i0", "n1": "n0", "i2": "i0", "n2": "n1"}],
}


async def test_one_lab_is_read_by_id_and_an_unknown_one_is_none(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    fleet.let_time_pass(timedelta(hours=2))
    ids = await fleet.cml.lab_ids(host)
    everything = {lab.id: lab for lab in await fleet.cml.labs(host)}
    assert set(ids) == set(everything) and ids
    for lab_id in ids:
        assert await fleet.cml.lab(host, lab_id) == everything[lab_id]
    assert await fleet.cml.lab(host, str(uuid4())) is None


async def test_a_topology_is_imported_and_downloaded_again(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    lab_id = await fleet.cml.import_lab(host, TOPOLOGY, "Renamed on import")
    lab = await fleet.cml.lab(host, lab_id)
    assert lab is not None and lab_id in await fleet.cml.lab_ids(host)
    assert (lab.title, lab.node_count, lab.link_count) == ("Renamed on import", 2, 1)
    assert lab.state in LAB_STATES and lab.running_nodes == 0
    untitled = await fleet.cml.import_lab(host, TOPOLOGY, None)
    assert (await fleet.cml.lab(host, untitled)).title == "Imported pair"  # type: ignore[union-attr]

    text = await fleet.cml.download_lab(host, lab_id)
    document = yaml.safe_load(text)
    assert document["lab"]["title"] == "Renamed on import"
    assert [n["label"] for n in document["nodes"]] == ["r0", "r1"] and len(document["links"]) == 1
    with pytest.raises(CmlError) as unknown:
        await fleet.cml.download_lab(host, str(uuid4()))
    assert unknown.value.status == 404


async def test_a_system_notice_is_shown_to_the_workers_users(fleet: FleetHarness) -> None:
    host = await running_cml(fleet)
    before = await fleet.cml.notices(host)

    notice_id = await fleet.cml.post_notice(
        host, "This worker stops at 18:00 (schedule office)", "Save your work: " + "x" * 9000
    )

    after = await fleet.cml.notices(host)
    (posted,) = [n for n in after if n.id == notice_id]
    assert len(after) == len(before) + 1
    assert (posted.level, posted.enabled) == ("WARNING", True)
    assert posted.label.startswith("This worker stops at 18:00")
    assert len(posted.content) == 8192  # cut to what the spec allows
