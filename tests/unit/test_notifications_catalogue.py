"""The notification catalogue: every worker event has one minimal public notification,
and every notification matches its published contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from application.commands.license import RequestLicenseRegistration, request_license_registration
from application.commands.lifecycle import ImportWorker, import_worker
from application.contracts.notifications import PAYLOAD_CONTRACTS
from application.notifications import (
    CATALOGUE,
    NOTIFICATION_TYPES,
    UnknownEvent,
    to_notification,
)
from domain.cause import Cause
from domain.labs import LabImport, LabOperation
from domain.spec import WorkerSpec
from domain.status import LicenseStatus, PauseReason, ServiceStatus, WorkerStatus
from domain.values import ActivityRecord, MetricThresholds, Telemetry
from domain.worker import CMLWorker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WHO = {"actor": "alice", "correlation_id": "c-story"}
CAUSE = Cause(**WHO)


def event_classes() -> set[type]:
    """Every concrete event class nested in CMLWorker, found by inspection."""
    return {
        value
        for value in vars(CMLWorker).values()
        if isinstance(value, type)
        and issubclass(value, CMLWorker.Event)
        and value is not CMLWorker.Event
    }


def a_worker_life() -> list[CMLWorker.Event]:
    """One worker's whole life, touching every kind of event (plus an import)."""
    w = CMLWorker.create(
        WorkerSpec(
            name="lab-1",
            region="eu-west-1",
            instance_type="c5.2xlarge",
            ami_id="ami-0123456789abcdef0",
            tags={"team": "net"},
        ),
        cause=CAUSE,
    )
    w.assign_instance("i-0123456789abcdef0", cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.change_service_status(ServiceStatus.READY, detail=None, cause=CAUSE)
    w.change_endpoint(public_ip="3.3.3.3", private_ip="10.0.0.3", public_dns=None, cause=CAUSE)
    w.record_metrics(
        Telemetry(cml_cpu_percent=42.0, labs_count=2),
        at=T0,
        thresholds=MetricThresholds(),
        cause=CAUSE,
    )
    w.record_activity((ActivityRecord(T0, "lab_started", "lab A"),), cursor="7", cause=CAUSE)
    w.configure_idle_detection(False, None, cause=CAUSE)
    w.configure_idle_detection(False, 30, cause=CAUSE)
    w.pause(PauseReason.MANUAL, at=T0 + timedelta(minutes=1), cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.resume(PauseReason.MANUAL, at=T0 + timedelta(minutes=2), cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.request_stop(cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.request_start(cause=CAUSE)
    w.fail_operation("start", "InsufficientInstanceCapacity", WorkerStatus.STOPPED, cause=CAUSE)
    w.request_start(cause=CAUSE)
    w.start_license_registration("sha256:0123456789ab", cause=CAUSE)
    w.fail_license_registration("token rejected", cause=CAUSE)
    w.start_license_registration("sha256:0123456789ab", cause=CAUSE)
    w.complete_license_registration(LicenseStatus.REGISTERED, cause=CAUSE)
    w.observe_license(LicenseStatus.EXPIRED, detail="authorization expired", cause=CAUSE)
    w.start_license_deregistration(cause=CAUSE)
    w.fail_license_deregistration("CML busy", LicenseStatus.REGISTERED, cause=CAUSE)
    w.start_license_deregistration(cause=CAUSE)
    w.complete_license_deregistration(cause=CAUSE)
    w.change_tags({"owner": "bob"}, ("team",), cause=CAUSE)
    w.confirm_tags(w.version, cause=CAUSE)
    w.observe_tags({"owner": "carol", "Name": "lab-1"}, cause=CAUSE)
    w.assign_team("red", cause=CAUSE)
    w.confirm_tags(w.version, cause=CAUSE)
    now = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    w.override_schedule(now + timedelta(hours=4), now=now, cause=CAUSE)
    w.record_notice("stop", now + timedelta(hours=5), "notice-1", 10, cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    lab = "90f84e38-a71c-4d57-8d90-00fa8a197385"
    w.request_lab_operation(LabOperation("stop", lab), cause=CAUSE)
    w.complete_lab_operation(w.version, LabOperation("stop", lab), "STOPPED", cause=CAUSE)
    topology = LabImport(size=420, digest="sha256:" + "0" * 64, title="copy")
    w.request_lab_operation(LabOperation("import", None), cause=CAUSE, import_of=topology)
    w.fail_lab_operation(w.version, LabOperation("import", None), "CML refused", cause=CAUSE)
    w.request_terminate(cause=CAUSE)
    w.observe_status(WorkerStatus.TERMINATED, reason="EC2 reports it terminated", cause=CAUSE)
    imported = CMLWorker.import_instance(
        WorkerSpec(name="old", region="us-east-1", instance_type="m5.xlarge"),
        instance_id="i-0fedcba9876543210",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    imported.release("region closed", cause=CAUSE)
    return [*w.collect_events(), *imported.collect_events()]


LIFE = a_worker_life()


def test_every_worker_event_class_has_exactly_one_catalogue_entry() -> None:
    assert set(CATALOGUE) == event_classes()
    assert len(set(NOTIFICATION_TYPES)) == len(NOTIFICATION_TYPES)


def test_every_notification_type_has_a_payload_contract() -> None:
    assert set(PAYLOAD_CONTRACTS) == set(NOTIFICATION_TYPES)


def test_the_story_below_exercises_every_event_class() -> None:
    missing = event_classes() - {type(e) for e in LIFE}
    assert not missing, f"extend a_worker_life() to trigger {sorted(c.__name__ for c in missing)}"


@pytest.mark.parametrize("event", LIFE, ids=lambda e: type(e).__name__)
def test_each_payload_has_exactly_its_contract_fields_and_validates(event) -> None:
    note = to_notification(event)
    contract = PAYLOAD_CONTRACTS[note.type]
    assert set(note.payload) == set(contract.model_fields)
    contract.model_validate(note.payload)
    json.dumps(dict(note.payload))  # plain JSON values only: no enums, no datetimes


@pytest.mark.parametrize("event", LIFE, ids=lambda e: type(e).__name__)
def test_each_notification_says_who_when_and_which_version(event) -> None:
    note = to_notification(event)
    assert note.worker_id == str(event.originator_id) == note.payload["worker_id"]
    assert note.version == event.originator_version == note.payload["version"]
    assert (note.actor, note.correlation_id) == ("alice", "c-story")
    assert note.at.endswith("Z") and note.payload["at"] == note.at


def test_toggling_idle_detection_notifies_just_the_new_setting() -> None:
    toggled = next(e for e in LIFE if isinstance(e, CMLWorker.IdleDetectionToggled))
    note = to_notification(toggled)
    assert note.type == "worker.idle_detection.toggled"
    assert note.payload == {
        "worker_id": str(toggled.originator_id),
        "enabled": False,
        "timeout_minutes": None,
        "actor": "alice",
        "at": note.at,
        "version": toggled.originator_version,
    }


def test_a_manual_pause_tells_the_client_the_worker_is_now_stopping() -> None:
    paused = next(e for e in LIFE if isinstance(e, CMLWorker.Paused))
    payload = to_notification(paused).payload
    assert (payload["reason"], payload["status"]) == ("manual", "stopping")
    assert payload["paused_at"] == "2026-03-02T09:01:00.000Z"


def test_the_license_token_never_reaches_a_notification(memory_store) -> None:
    worker = import_worker(
        ImportWorker(
            instance_id="i-1",
            name="w",
            region="eu-west-1",
            instance_type="m5.xlarge",
            status=WorkerStatus.RUNNING,
            **WHO,
        ),
        memory_store,
    )
    request_license_registration(
        RequestLicenseRegistration(worker.worker_id, token="SECRET-SLR-TOKEN", **WHO),
        memory_store,
    )
    events = memory_store.worker_events(worker.worker_id, before_version=None, limit=10)
    text = json.dumps([dict(to_notification(e).payload) for e in events])
    assert "SECRET-SLR-TOKEN" not in text
    assert '"license_token_fingerprint": "sha256:' in text


def test_an_event_outside_the_catalogue_is_refused() -> None:
    class Stray:
        originator_id = uuid4()

    with pytest.raises(UnknownEvent):
        to_notification(Stray())


def test_each_notification_says_the_status_the_aggregate_is_left_in() -> None:
    """The catalogue and the aggregate take the status after an event from one rule
    (``domain.status``), so a client's view never drifts from the worker's: replaying a
    life (every pause and resume reason included), each notification's ``status`` is the
    status the event left, or ``None`` when it left it unchanged."""
    spec = WorkerSpec("lab-2", "eu-west-1", "c5.2xlarge", "ami-0123456789abcdef0")
    w = CMLWorker.create(spec, cause=CAUSE)
    w.assign_instance("i-0123456789abcdef1", cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.pause(PauseReason.IDLE_TIMEOUT, at=T0, idle_minutes=61.0, cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.resume(PauseReason.MANUAL, at=T0, cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.pause(PauseReason.EXTERNAL, at=T0, cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.resume(PauseReason.EXTERNAL, at=T0, cause=CAUSE)
    events = [*LIFE, *w.collect_events()]
    replayed: dict[object, CMLWorker | None] = {}
    for event in events:
        before = replayed.get(event.originator_id)
        after = event.mutate(before)
        replayed[event.originator_id] = after
        said = to_notification(event).payload.get("status", "absent")
        if said == "absent":
            continue
        unchanged = before is not None and before.status is after.status
        expected = None if unchanged and said is None else after.status.value
        assert said == expected, (type(event).__name__, said, after.status)
