"""Idle-detection settings, tags and licenses on a worker."""

from __future__ import annotations

import dataclasses

import pytest

from domain.cause import Cause
from domain.errors import IllegalTransition, InvalidValue
from domain.spec import WorkerSpec
from domain.status import LicenseStatus, WorkerStatus
from domain.worker import CMLWorker

CAUSE = Cause("alice", "corr-1")


def worker() -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(
            name="w",
            region="eu-west-1",
            instance_type="m5.xlarge",
            tags={"team": "net", "env": "lab"},
        ),
        instance_id="i-1",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def test_disabling_idle_detection_records_one_toggle() -> None:
    w = worker()
    assert w.configure_idle_detection(False, None, cause=CAUSE) is True
    assert w.configure_idle_detection(False, None, cause=CAUSE) is False
    assert w.idle_detection_enabled is False
    assert [type(e).__name__ for e in w.collect_events()] == ["Imported", "IdleDetectionToggled"]


def test_changing_only_the_timeout_is_its_own_event() -> None:
    w = worker()
    w.configure_idle_detection(True, 90, cause=CAUSE)
    assert w.idle_timeout_minutes == 90
    assert isinstance(w.collect_events()[-1], CMLWorker.IdleTimeoutChanged)


@pytest.mark.parametrize("minutes", [0, -5, 7 * 24 * 60 + 1])
def test_an_idle_timeout_out_of_range_is_refused(minutes: int) -> None:
    with pytest.raises(InvalidValue, match="idle_timeout_minutes"):
        worker().configure_idle_detection(True, minutes, cause=CAUSE)


def test_a_tag_patch_keeps_the_other_tags() -> None:
    w = worker()
    w.change_tags({"owner": "ops", "env": "prod"}, ("team",), cause=CAUSE)
    assert w.tags == {"env": "prod", "owner": "ops"}
    event = w.collect_events()[-1]
    assert event.added == {"owner": "ops", "env": "prod"} and list(event.removed) == ["team"]


def test_a_tag_patch_that_changes_nothing_records_nothing() -> None:
    w = worker()
    assert w.change_tags({"team": "net"}, ("absent",), cause=CAUSE) is False


def test_a_tag_both_added_and_removed_is_set() -> None:
    w = worker()
    assert w.change_tags({"team": "x"}, ("team",), cause=CAUSE) is True
    assert w.tags["team"] == "x"


def test_license_registration_keeps_only_a_fingerprint() -> None:
    w = worker()
    w.start_license_registration("sha256:0123456789ab", cause=CAUSE)
    w.complete_license_registration(LicenseStatus.REGISTERED, cause=CAUSE)
    assert w.license_status is LicenseStatus.REGISTERED
    started = w.collect_events()[-2]
    assert set(dataclasses.asdict(started)) >= {"token_fingerprint"}
    assert "token" not in {f.name for f in dataclasses.fields(started)}


def test_a_second_registration_while_one_runs_is_refused() -> None:
    w = worker()
    w.start_license_registration("sha256:a", cause=CAUSE)
    with pytest.raises(IllegalTransition, match="license registering"):
        w.start_license_registration("sha256:b", cause=CAUSE)


def test_a_failed_deregistration_leaves_the_license_as_reported() -> None:
    w = worker()
    w.start_license_registration("sha256:a", cause=CAUSE)
    w.complete_license_registration(LicenseStatus.REGISTERED, cause=CAUSE)
    w.start_license_deregistration(cause=CAUSE)
    w.fail_license_deregistration("CML said 500", LicenseStatus.REGISTERED, cause=CAUSE)
    assert (w.license_status, w.license_detail) == (LicenseStatus.REGISTERED, "CML said 500")
