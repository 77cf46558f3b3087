"""The cloud port contract: what every implementation (simulated, AWS) must do."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from application.cloud import EC2_STATES, InstanceInfo, Launch
from application.ports_errors import CloudConflict, CloudNotFound
from tests.contract.conftest import FleetHarness

SETTLE = timedelta(minutes=5)
CONTRACT_PORTS = frozenset({"cloud"})  # run against every harness with a cloud port


async def launch(fleet: FleetHarness, name: str, token: str | None = None, **tags: str) -> str:
    return await fleet.cloud.run_instance(
        fleet.region,
        Launch(
            instance_type="m5.xlarge",
            name=name,
            client_token=token or str(uuid4()),
            ami_id=fleet.ami_id,
            tags=tags,
        ),
    )


async def describe(fleet: FleetHarness, instance_id: str) -> InstanceInfo:
    (info,) = await fleet.cloud.describe_instances(fleet.region, [instance_id])
    return info


async def test_a_launched_instance_is_pending_then_running_with_an_address(
    fleet: FleetHarness,
) -> None:
    instance_id = await launch(fleet, "lab-1", team="netops")
    info = await describe(fleet, instance_id)
    assert info.state in ("pending", "running")
    assert (info.name, info.tags["team"], info.ami_id) == ("lab-1", "netops", fleet.ami_id)
    assert info.launch_time is not None and info.launch_time.tzinfo is not None

    fleet.let_time_pass(SETTLE)
    info = await describe(fleet, instance_id)
    assert info.state == "running"
    assert info.public_ip and info.private_ip and info.public_dns


async def test_run_instance_is_idempotent_per_client_token(fleet: FleetHarness) -> None:
    token = str(uuid4())
    first = await launch(fleet, "once", token)
    again = await launch(fleet, "once", token)
    assert again == first
    named = await fleet.cloud.describe_instances(fleet.region, filters={"tag:Name": ["once"]})
    assert [i.instance_id for i in named] == [first]


async def test_a_client_token_reused_for_another_request_is_refused(fleet: FleetHarness) -> None:
    token = str(uuid4())
    await launch(fleet, "first", token)
    with pytest.raises(CloudConflict):
        await fleet.cloud.run_instance(
            fleet.region,
            Launch(
                instance_type="c5.9xlarge", name="first", client_token=token, ami_id=fleet.ami_id
            ),
        )


async def test_stop_start_and_terminate_go_through_ec2_states(fleet: FleetHarness) -> None:
    instance_id = await launch(fleet, "cycle")
    fleet.let_time_pass(SETTLE)

    assert await fleet.cloud.stop_instance(fleet.region, instance_id) in ("stopping", "stopped")
    fleet.let_time_pass(SETTLE)
    stopped = await describe(fleet, instance_id)
    assert stopped.state == "stopped" and stopped.public_ip is None

    assert await fleet.cloud.start_instance(fleet.region, instance_id) in ("pending", "running")
    fleet.let_time_pass(SETTLE)
    assert (await describe(fleet, instance_id)).state == "running"

    state = await fleet.cloud.terminate_instance(fleet.region, instance_id)
    assert state in ("shutting-down", "terminated")
    again = await fleet.cloud.terminate_instance(fleet.region, instance_id)  # idempotent
    assert again in ("shutting-down", "terminated")
    fleet.let_time_pass(SETTLE)
    assert (await describe(fleet, instance_id)).state == "terminated"


async def test_stopping_a_stopped_instance_and_starting_a_running_one_change_nothing(
    fleet: FleetHarness,
) -> None:
    instance_id = await launch(fleet, "steady")
    fleet.let_time_pass(SETTLE)
    assert await fleet.cloud.start_instance(fleet.region, instance_id) == "running"
    await fleet.cloud.stop_instance(fleet.region, instance_id)
    fleet.let_time_pass(SETTLE)
    assert await fleet.cloud.stop_instance(fleet.region, instance_id) == "stopped"


async def test_a_terminated_instance_cannot_be_started(fleet: FleetHarness) -> None:
    if not fleet.shows("refuses starting a terminated instance"):
        pytest.skip("this harness's fake starts terminated instances")
    instance_id = await launch(fleet, "gone")
    await fleet.cloud.terminate_instance(fleet.region, instance_id)
    fleet.let_time_pass(SETTLE)
    with pytest.raises(CloudConflict):
        await fleet.cloud.start_instance(fleet.region, instance_id)


@pytest.mark.parametrize("action", ["start_instance", "stop_instance", "terminate_instance"])
async def test_actions_on_an_unknown_instance_raise_not_found(
    fleet: FleetHarness, action: str
) -> None:
    with pytest.raises(CloudNotFound):
        await getattr(fleet.cloud, action)(fleet.region, "i-0000000000000dead")


async def test_unknown_ids_are_absent_from_describe_not_an_error(fleet: FleetHarness) -> None:
    known = await launch(fleet, "known")
    found = await fleet.cloud.describe_instances(fleet.region, [known, "i-0000000000000dead"])
    assert [i.instance_id for i in found] == [known]
    if fleet.shows("refuses tagging an unknown instance"):
        with pytest.raises(CloudNotFound):
            await fleet.cloud.set_tags(fleet.region, "i-0000000000000dead", {"a": "b"})


async def test_describe_filters_by_tag_and_state(fleet: FleetHarness) -> None:
    kept = await launch(fleet, "kept", role="cml")
    other = await launch(fleet, "other", role="web")
    fleet.let_time_pass(SETTLE)
    await fleet.cloud.stop_instance(fleet.region, other)
    cml = await fleet.cloud.describe_instances(fleet.region, filters={"tag:role": ["cm*"]})
    running = await fleet.cloud.describe_instances(
        fleet.region, [kept, other], filters={"instance-state-name": ["running"]}
    )
    assert [i.instance_id for i in cml] == [kept]
    assert [i.instance_id for i in running] == [kept]
    assert all(i.state in EC2_STATES for i in await fleet.cloud.describe_instances(fleet.region))


async def test_tags_are_added_and_removed_without_touching_the_others(
    fleet: FleetHarness,
) -> None:
    instance_id = await launch(fleet, "tagged", team="netops", owner="ana")
    await fleet.cloud.set_tags(fleet.region, instance_id, {"owner": "bo", "cost": "lab"})
    await fleet.cloud.remove_tags(fleet.region, instance_id, ["team", "absent"])
    tags = (await describe(fleet, instance_id)).tags
    assert {k: v for k, v in tags.items() if k != "Name"} == {"owner": "bo", "cost": "lab"}


async def test_status_checks_and_metrics_come_batched_for_running_instances(
    fleet: FleetHarness,
) -> None:
    running = [await launch(fleet, f"busy-{n}") for n in range(3)]
    stopped = await launch(fleet, "asleep")
    fleet.let_time_pass(SETTLE)
    await fleet.cloud.stop_instance(fleet.region, stopped)
    fleet.let_time_pass(SETTLE)
    ids = [*running, stopped]

    checks = await fleet.cloud.status_checks(fleet.region, ids)
    samples = await fleet.cloud.metrics(fleet.region, ids, now=fleet.now())

    assert set(checks) == set(running)
    assert all(c.system_status in ("ok", "initializing") for c in checks.values())
    assert set(samples) == set(running)
    for sample in samples.values():
        assert sample.cpu_percent is not None and 0 <= sample.cpu_percent <= 100
        assert sample.memory_percent is None or 0 <= sample.memory_percent <= 100
        assert sample.at is not None


async def test_image_ids_are_the_amis_whose_name_matches_a_pattern(fleet: FleetHarness) -> None:
    cml = tuple(sorted(ami for ami, name in fleet.images.items() if name.startswith("cml-")))
    others = tuple(sorted(set(fleet.images) - set(cml)))
    assert len(cml) >= 2 and others

    assert await fleet.cloud.image_ids(fleet.region, ["cml-*"]) == cml
    both = await fleet.cloud.image_ids(fleet.region, ["cml-*", fleet.images[others[0]]])
    assert both == tuple(sorted((*cml, others[0])))
    assert await fleet.cloud.image_ids(fleet.region, ["no-such-image-*"]) == ()
