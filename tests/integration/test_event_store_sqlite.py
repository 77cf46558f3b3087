"""The event store on a SQLite file: every event survives a restart, snapshots change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from application.mapper import map_worker_to_dto
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import LicenseStatus, PauseReason, ServiceStatus, WorkerStatus
from domain.values import ActivityRecord, MetricThresholds, Telemetry
from domain.worker import CMLWorker
from infrastructure.store.event_store import SNAPSHOT_INTERVAL, FleetEventStore

CAUSE = Cause("alice", "corr")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sqlite_store(path: Path) -> FleetEventStore:
    return FleetEventStore(
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path / "events.db")}
    )


def a_worker_with_every_kind_of_event() -> CMLWorker:
    w = CMLWorker.create(
        WorkerSpec(name="w", region="eu-west-1", instance_type="m5.xlarge", ami_id="ami-1"),
        cause=CAUSE,
    )
    w.assign_instance("i-1", cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.change_service_status(ServiceStatus.READY, detail="ok", cause=CAUSE)
    w.change_endpoint(public_ip="1.2.3.4", private_ip="10.0.0.1", public_dns="x", cause=CAUSE)
    w.record_metrics(
        Telemetry(cml_cpu_percent=10.0, labs_count=2, cml_ready=True),
        at=T0,
        thresholds=MetricThresholds(),
        cause=CAUSE,
    )
    w.record_activity((ActivityRecord(T0, "lab_started", "lab A"),), cursor="7", cause=CAUSE)
    w.configure_idle_detection(True, 90, cause=CAUSE)
    w.configure_idle_detection(False, 90, cause=CAUSE)
    w.change_tags({"team": "net"}, (), cause=CAUSE)
    w.start_license_registration("sha256:abc", cause=CAUSE)
    w.fail_license_registration("bad token", cause=CAUSE)
    w.pause(PauseReason.MANUAL, at=T0, cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.resume(PauseReason.MANUAL, at=T0 + timedelta(hours=1), cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.request_stop(cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.request_start(cause=CAUSE)
    w.request_terminate(cause=CAUSE)
    w.observe_status(WorkerStatus.TERMINATED, cause=CAUSE)
    return w


def test_every_event_type_survives_a_restart(tmp_path: Path) -> None:
    original = a_worker_with_every_kind_of_event()
    expected = map_worker_to_dto(original)
    sqlite_store(tmp_path).save(original)

    reloaded = sqlite_store(tmp_path).get(original.id)

    assert map_worker_to_dto(reloaded) == expected
    assert reloaded.license_status is LicenseStatus.FAILED
    assert reloaded.recent_activity[0].kind == "lab_started"


def test_a_snapshotted_worker_loads_exactly_like_a_replayed_one(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    w = CMLWorker.import_instance(
        WorkerSpec(name="w", region="r", instance_type="t"),
        instance_id="i-1",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    store.save(w)
    for i in range(SNAPSHOT_INTERVAL * 2 + 3):
        w = store.get(w.id)
        if i % 10 == 0:
            w.pause(PauseReason.MANUAL, at=T0, cause=CAUSE)
            w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
            w.resume(PauseReason.MANUAL, at=T0, cause=CAUSE)
            w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
        w.record_metrics(
            Telemetry(cml_cpu_percent=float(i * 17 % 100)),
            at=T0 + timedelta(minutes=i),
            thresholds=MetricThresholds(),
            cause=CAUSE,
        )
        store.save(w)

    assert store.snapshots is not None
    assert list(store.snapshots.get(w.id)), "a snapshot should have been taken"
    restarted = sqlite_store(tmp_path)
    with_snapshot = restarted.get(w.id)
    replayed = None
    for event in restarted.events.get(w.id):  # every event from the start, no snapshot
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert map_worker_to_dto(with_snapshot) == map_worker_to_dto(replayed) == map_worker_to_dto(w)


def test_the_log_is_read_in_order_after_a_position(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    w = a_worker_with_every_kind_of_event()
    last = store.save(w)
    notifications = store.read_log(after=5, limit=3)
    assert [n.id for n in notifications] == [6, 7, 8]
    assert last == store.max_position() > 8
