"""Pure policies: EC2 state mapping, metrics materiality, idle assessment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.policies import (
    EC2_STATE_TO_STATUS,
    assess_idle,
    material_changes,
    observed_status,
    worker_status_for_ec2_state,
)
from domain.status import WorkerStatus as S
from domain.values import MetricThresholds, Telemetry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EC2_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")


@pytest.mark.parametrize(
    ("ec2_state", "status"),
    [
        ("pending", S.PROVISIONING),
        ("running", S.RUNNING),
        ("stopping", S.STOPPING),
        ("stopped", S.STOPPED),
        ("shutting-down", S.TERMINATING),
        ("terminated", S.TERMINATED),
        ("Running", S.RUNNING),
        ("rebooting", S.UNKNOWN),
        (None, S.UNKNOWN),
    ],
)
def test_each_ec2_state_maps_to_one_worker_status(ec2_state: str | None, status: S) -> None:
    assert worker_status_for_ec2_state(ec2_state) is status


def test_the_mapping_covers_every_ec2_instance_state() -> None:
    assert set(EC2_STATE_TO_STATUS) == set(EC2_STATES)


def test_pending_after_a_stop_means_starting_not_provisioning() -> None:
    assert observed_status(S.STOPPED, "pending") is S.STARTING
    assert observed_status(S.PENDING, "pending") is S.PROVISIONING


THRESHOLDS = MetricThresholds(percent_points=5.0, max_staleness_seconds=1200)


def test_small_drift_is_not_worth_an_event() -> None:
    last = Telemetry(cml_cpu_percent=20.0, labs_count=2)
    observed = Telemetry(cml_cpu_percent=23.0, labs_count=2)
    assert material_changes(last, observed, T0, T0 + timedelta(minutes=1), THRESHOLDS) is None


def test_a_move_past_the_threshold_records_only_what_changed() -> None:
    last = Telemetry(cml_cpu_percent=20.0, cml_memory_percent=50.0)
    observed = Telemetry(cml_cpu_percent=26.0, cml_memory_percent=51.0)
    changes = material_changes(last, observed, T0, T0 + timedelta(minutes=1), THRESHOLDS)
    assert changes == {"cml_cpu_percent": 26.0}


def test_any_change_of_a_non_percentage_is_material() -> None:
    last = Telemetry(labs_count=2, cml_ready=True)
    observed = Telemetry(labs_count=3, cml_ready=True)
    assert material_changes(last, observed, T0, T0, THRESHOLDS) == {"labs_count": 3}


def test_a_value_appearing_is_material() -> None:
    assert material_changes(Telemetry(), Telemetry(cw_cpu_percent=1.0), T0, T0, THRESHOLDS) == {
        "cw_cpu_percent": 1.0
    }


def test_a_stale_recording_is_refreshed_with_every_difference() -> None:
    last = Telemetry(cml_cpu_percent=20.0)
    observed = Telemetry(cml_cpu_percent=21.0)
    later = T0 + timedelta(seconds=1200)
    assert material_changes(last, observed, T0, later, THRESHOLDS) == {"cml_cpu_percent": 21.0}
    assert material_changes(last, last, T0, later, THRESHOLDS) == {}


def test_idle_since_falls_back_to_resume_then_creation() -> None:
    created = T0
    hour = timedelta(hours=1)
    never_active = assess_idle(T0 + hour, None, None, created, hour, timedelta(minutes=30))
    assert never_active.idle_since == created and never_active.eligible

    resumed = T0 + timedelta(minutes=10)
    after_resume = assess_idle(T0 + hour, None, resumed, created, hour, timedelta(minutes=30))
    assert after_resume.idle_since == resumed
    assert after_resume.pause_due_at == resumed + hour
    assert not after_resume.eligible


def test_activity_postpones_the_pause() -> None:
    active = T0 + timedelta(minutes=50)
    result = assess_idle(
        T0 + timedelta(minutes=70), active, None, T0, timedelta(hours=1), timedelta()
    )
    assert result.idle_since == active
    assert result.pause_due_at == active + timedelta(hours=1)
    assert not result.eligible


def test_no_auto_pause_during_the_snooze_after_a_resume() -> None:
    resumed = T0
    result = assess_idle(
        T0 + timedelta(minutes=20),
        last_activity_at=None,
        last_resumed_at=resumed,
        created_at=T0 - timedelta(days=1),
        timeout=timedelta(minutes=10),
        snooze=timedelta(minutes=45),
    )
    assert result.pause_due_at == resumed + timedelta(minutes=45)
    assert not result.eligible


def test_a_worker_started_long_after_its_last_activity_is_not_idle_at_once() -> None:
    started = T0 + timedelta(days=3)
    result = assess_idle(
        started + timedelta(minutes=5),
        last_activity_at=T0,
        last_resumed_at=None,
        created_at=T0 - timedelta(days=10),
        timeout=timedelta(hours=1),
        snooze=timedelta(minutes=30),
        running_since=started,
    )
    assert result.idle_since == started
    assert not result.eligible
