"""The CMLWorker's lifecycle: guarded transitions, pause/resume history, observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.cause import Cause
from domain.errors import IllegalTransition, InvalidValue
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.worker import CMLWorker

CAUSE = Cause("alice", "corr-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def running_worker() -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(name="lab-1", region="eu-west-1", instance_type="m5.2xlarge"),
        instance_id="i-0abc",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def test_a_requested_worker_waits_for_its_instance() -> None:
    worker = CMLWorker.create(
        WorkerSpec(name="w", region="us-east-1", instance_type="c5.xlarge", ami_id="ami-1"),
        cause=CAUSE,
    )
    assert worker.status is WorkerStatus.PENDING
    worker.assign_instance("i-1", cause=CAUSE)
    assert (worker.instance_id, worker.status) == ("i-1", WorkerStatus.PROVISIONING)


def test_a_worker_needs_an_image_to_be_created() -> None:
    with pytest.raises(InvalidValue, match="ami_id"):
        CMLWorker.create(
            WorkerSpec(name="w", region="us-east-1", instance_type="c5.xlarge"), cause=CAUSE
        )


def test_resuming_a_terminated_worker_is_refused_naming_its_status() -> None:
    worker = running_worker()
    worker.request_terminate(cause=CAUSE)
    worker.observe_status(WorkerStatus.TERMINATED, cause=CAUSE)
    with pytest.raises(IllegalTransition, match="terminated") as refused:
        worker.resume(PauseReason.MANUAL, at=T0, cause=CAUSE)
    assert refused.value.current == "terminated"
    assert worker.status is WorkerStatus.TERMINATED


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (WorkerStatus.STOPPED, "pause"),
        (WorkerStatus.RUNNING, "start"),
        (WorkerStatus.RUNNING, "resume"),
        (WorkerStatus.STOPPED, "stop"),
    ],
)
def test_commands_outside_their_status_change_nothing(status: WorkerStatus, action: str) -> None:
    worker = running_worker()
    worker.observe_status(status, cause=CAUSE)
    version = worker.version
    commands = {
        "pause": lambda: worker.pause(PauseReason.MANUAL, at=T0, cause=CAUSE),
        "resume": lambda: worker.resume(PauseReason.MANUAL, at=T0, cause=CAUSE),
        "start": lambda: worker.request_start(cause=CAUSE),
        "stop": lambda: worker.request_stop(cause=CAUSE),
    }
    with pytest.raises(IllegalTransition, match=status.value):
        commands[action]()
    assert worker.version == version


def test_pause_and_resume_are_kept_in_history_with_reason_and_counters() -> None:
    worker = running_worker()
    worker.pause(PauseReason.IDLE_TIMEOUT, at=T0, idle_minutes=61.0, cause=Cause("job:idle", "c"))
    worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    worker.resume(PauseReason.MANUAL, at=T0 + timedelta(hours=2), cause=CAUSE)

    assert worker.status is WorkerStatus.STARTING
    assert (worker.auto_pause_count, worker.manual_pause_count, worker.resume_count) == (1, 0, 1)
    [record] = worker.pause_history
    assert record.reason == "idle_timeout" and record.actor == "job:idle"
    assert record.idle_minutes == 61.0
    assert record.resumed_at == T0 + timedelta(hours=2) and record.resumed_by == "alice"
    assert worker.last_resumed_at == T0 + timedelta(hours=2)


def test_an_external_stop_is_recorded_without_a_new_request() -> None:
    worker = running_worker()
    worker.observe_status(WorkerStatus.STOPPED, cause=Cause("job:metrics", "c"))
    worker.pause(PauseReason.EXTERNAL, at=T0, cause=Cause("external", "c"))
    assert worker.status is WorkerStatus.STOPPED
    assert worker.external_pause_count == 1


def test_observations_of_the_same_status_record_nothing() -> None:
    worker = running_worker()
    assert worker.observe_status(WorkerStatus.RUNNING, cause=CAUSE) is False
    assert len(worker.collect_events()) == 1  # only the import


def test_termination_is_final_whatever_ec2_says_later() -> None:
    worker = running_worker()
    worker.observe_status(WorkerStatus.TERMINATED, cause=CAUSE)
    assert worker.observe_status(WorkerStatus.RUNNING, cause=CAUSE) is False
    assert worker.status is WorkerStatus.TERMINATED
    assert isinstance(worker.collect_events()[-1], CMLWorker.Terminated)


def test_every_event_names_who_and_why() -> None:
    worker = running_worker()
    worker.pause(PauseReason.MANUAL, at=T0, cause=Cause("bob", "corr-9"))
    event = worker.collect_events()[-1]
    assert (event.actor, event.correlation_id) == ("bob", "corr-9")
    assert (worker.last_actor, worker.last_correlation_id) == ("bob", "corr-9")


def test_a_failed_operation_leaves_the_status_ec2_reports_and_says_why() -> None:
    worker = running_worker()
    worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    worker.request_start(cause=CAUSE)
    worker.fail_operation(
        "start", "InsufficientInstanceCapacity", WorkerStatus.STOPPED, cause=CAUSE
    )
    assert worker.status is WorkerStatus.STOPPED
    assert worker.last_operation_error == "start: InsufficientInstanceCapacity"
    worker.request_start(cause=CAUSE)  # and it may be tried again
    assert worker.status is WorkerStatus.STARTING


def test_a_restarted_worker_is_running_since_its_start() -> None:
    worker = running_worker()
    worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    worker.request_start(cause=CAUSE)
    started = worker.running_since
    worker.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    assert started is not None and worker.running_since == started
