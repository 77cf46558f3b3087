"""The metrics job's pure rules: what an observation means for a worker."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from application.cloud import CloudMetrics, StatusCheck
from application.cml import CmlHealth, CmlLicensing, CmlStats, CmlSystemInfo, CmlTelemetryEvent
from application.jobs.backoff import Backoff
from application.jobs.observe import observed_telemetry, relevant_activity, status_to_record
from application.jobs.probe import CmlProbe
from domain.status import WorkerStatus as S
from domain.values import Telemetry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OURS = re.compile("^cml-fleet$")


@pytest.mark.parametrize(
    ("current", "ec2_state", "recorded"),
    [
        (S.PROVISIONING, "running", S.RUNNING),
        (S.RUNNING, "running", None),
        (S.RUNNING, "stopping", S.STOPPING),  # stopped outside cml-fleet
        (S.STOPPED, "pending", S.STARTING),  # started outside cml-fleet
        (S.STOPPING, "running", None),  # our stop request is not undone before EC2 acts
        (S.STARTING, "stopped", None),
        (S.TERMINATING, "running", None),
        (S.STARTING, "running", S.RUNNING),
        (S.RUNNING, None, S.TERMINATED),  # gone from EC2
        (S.PROVISIONING, None, None),  # not visible yet
        (S.TERMINATED, "running", None),
        (S.RUNNING, "shutting-down", S.TERMINATING),
    ],
)
def test_what_an_ec2_state_records(current: S, ec2_state: str | None, recorded: S | None) -> None:
    assert status_to_record(current, ec2_state) is recorded


def probe(events: tuple[CmlTelemetryEvent, ...] = (), cpu: float = 12.34) -> CmlProbe:
    return CmlProbe(
        info=CmlSystemInfo("2.9.0", ready=True),
        health=CmlHealth(True, True, True, True, 1, True),
        stats=CmlStats(cpu, 40.0, 30.0, running_nodes=4, total_nodes=9),
        labs=(),
        licensing=CmlLicensing("COMPLETED", "IN_COMPLIANCE"),
        events=events,
    )


def event(minutes: int, category: str, user: str | None = None) -> CmlTelemetryEvent:
    data = {"user_name": user} if user else {"lab_id": "lab-1"}
    return CmlTelemetryEvent(category, T0 + timedelta(minutes=minutes), data)


def test_activity_is_lab_work_and_users_but_not_our_own_logins_nor_old_events() -> None:
    seen = probe(
        (
            event(1, "start_lab"),
            event(2, "user_activity", "cml-fleet"),
            event(3, "system_stats"),
            event(4, "user_activity", "alice"),
        )
    )
    records = relevant_activity(seen, after=T0 + timedelta(minutes=1), service_account=OURS)
    assert [(r.kind, r.detail) for r in records] == [("user_activity", "alice")]


def test_a_source_that_failed_keeps_its_values_and_a_stopped_worker_clears_live_ones() -> None:
    before = Telemetry(cw_cpu_percent=10.0, cml_cpu_percent=11.0, labs_count=2, cml_ready=True)
    cloud_failed = observed_telemetry(
        before,
        running=True,
        checks=None,
        cloud=None,
        instance_id="i-1",
        probe=probe(cpu=12.34),
        cml_failed=False,
    )
    assert (cloud_failed.cw_cpu_percent, cloud_failed.cml_cpu_percent) == (10.0, 12.3)

    answered = observed_telemetry(
        before,
        running=True,
        checks={"i-1": StatusCheck("i-1", "ok", "ok")},
        cloud={"i-1": CloudMetrics(55.55, None, T0)},
        instance_id="i-1",
        probe=None,
        cml_failed=True,
    )
    assert answered.cw_cpu_percent == 55.5 and answered.cml_cpu_percent is None
    assert answered.ec2_system_status == "ok" and answered.cml_ready is False

    stopped = observed_telemetry(
        before, running=False, checks={}, cloud={}, instance_id="i-1", probe=None, cml_failed=False
    )
    assert stopped.cml_cpu_percent is None and stopped.running_nodes_count == 0
    assert stopped.labs_count == 2  # labs are still there


def test_back_off_doubles_up_to_a_cap_and_a_success_clears_it() -> None:
    backoff = Backoff(timedelta(seconds=30), timedelta(minutes=5))
    delays = [backoff.failed("w", T0) for _ in range(6)]
    assert [d.total_seconds() for d in delays] == [30, 60, 120, 240, 300, 300]
    assert not backoff.ready("w", T0 + timedelta(seconds=299))
    assert backoff.ready("w", T0 + timedelta(seconds=300))
    backoff.succeeded("w")
    assert backoff.ready("w", T0) and backoff.failures("w") == 0
