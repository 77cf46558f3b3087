"""A worker's team: its ``cml-fleet:team`` tag, changed by an admin or seen in EC2,
each change an event of its own."""

from __future__ import annotations

import pytest

from domain.cause import Cause
from domain.errors import InvalidValue
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.tags import TEAM_TAG
from domain.worker import CMLWorker

CAUSE = Cause("Ada Admin <ada>", "c-1")


def worker(**tags: str) -> CMLWorker:
    spec = WorkerSpec("lab-1", "eu-west-1", "m5.xlarge", "ami-0123456789abcdef0", tags)
    w = CMLWorker.create(spec, cause=CAUSE)
    w.assign_instance("i-0123456789abcdef0", cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.collect_events()
    return w


def test_a_worker_created_with_the_team_tag_is_in_that_team() -> None:
    assert worker(**{TEAM_TAG: "red"}).team == "red"
    assert worker().team is None


def test_assigning_a_team_records_the_tag_for_ec2_and_the_move() -> None:
    w = worker(**{TEAM_TAG: "red"})

    assert w.assign_team("blue", cause=CAUSE) is True

    tags, moved = w.collect_events()
    assert isinstance(tags, CMLWorker.TagsChanged) and tags.to_ec2
    assert tags.added == {TEAM_TAG: "blue"}
    assert isinstance(moved, CMLWorker.TeamChanged)
    assert (moved.team, moved.previous, moved.actor) == ("blue", "red", "Ada Admin <ada>")
    assert w.team == "blue" and w.tags_pending_version == tags.originator_version


def test_taking_a_worker_out_of_its_team_removes_the_tag() -> None:
    w = worker(**{TEAM_TAG: "red"})

    w.assign_team(None, cause=CAUSE)

    tags, moved = w.collect_events()
    assert tags.removed == (TEAM_TAG,) and (moved.team, moved.previous) == (None, "red")
    assert TEAM_TAG not in w.tags and w.team is None


def test_the_same_team_again_changes_nothing() -> None:
    w = worker(**{TEAM_TAG: "red"})

    assert w.assign_team(" red ", cause=CAUSE) is False
    assert w.collect_events() == []


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, "red\nblue", "tab\there"])
def test_a_bad_team_name_is_refused_and_changes_nothing(bad: str) -> None:
    w = worker()

    with pytest.raises(InvalidValue, match="team"):
        w.assign_team(bad, cause=CAUSE)
    with pytest.raises(InvalidValue, match="team"):
        worker(**{TEAM_TAG: bad})
    assert w.collect_events() == []


def test_a_tag_patch_cannot_change_the_team() -> None:
    w = worker(**{TEAM_TAG: "red"})

    for add, remove in (({TEAM_TAG: "blue"}, ()), ({}, (TEAM_TAG,))):
        with pytest.raises(InvalidValue, match=r"PUT \.\.\./team"):
            w.change_tags(add, remove, cause=CAUSE)
    assert w.team == "red" and w.collect_events() == []


def test_a_team_tag_changed_in_ec2_is_seen_as_a_move() -> None:
    w = worker(**{TEAM_TAG: "red", "owner": "kim"})

    w.observe_tags({TEAM_TAG: "blue", "owner": "kim", "Name": "lab-1"}, cause=CAUSE)

    tags, moved = w.collect_events()
    assert tags.observed and tags.added == {TEAM_TAG: "blue"}
    assert (moved.team, moved.previous) == ("blue", "red")


def test_other_tags_seen_in_ec2_do_not_move_the_worker() -> None:
    w = worker(**{TEAM_TAG: "red"})

    w.observe_tags({TEAM_TAG: "red", "course": "ccna"}, cause=CAUSE)

    assert [type(e).__name__ for e in w.collect_events()] == ["TagsChanged"]


def test_the_schedule_is_a_tag_an_admin_patches_or_ec2_changes() -> None:
    from domain.tags import SCHEDULE_TAG

    w = worker(**{SCHEDULE_TAG: "office"})
    assert w.schedule == "office"

    w.change_tags({SCHEDULE_TAG: "evenings"}, (), cause=CAUSE)
    assert w.schedule == "evenings"
    w.observe_tags({}, cause=CAUSE)  # a change of ours is on its way to EC2: not observed
    w.confirm_tags(w.version, cause=CAUSE)
    w.observe_tags({SCHEDULE_TAG: "office"}, cause=CAUSE)
    assert w.schedule == "office"
    w.change_tags({}, (SCHEDULE_TAG,), cause=CAUSE)
    assert w.schedule is None


@pytest.mark.parametrize("bad", ["Office Hours", "", "-x", "x" * 64])
def test_a_schedule_tag_must_name_a_schedule(bad: str) -> None:
    from domain.tags import SCHEDULE_TAG

    with pytest.raises(InvalidValue, match="name"):
        worker().change_tags({SCHEDULE_TAG: bad}, (), cause=CAUSE)
    with pytest.raises(InvalidValue, match="name"):
        worker(**{SCHEDULE_TAG: bad})


def test_an_operator_keeps_a_worker_running_past_its_schedule_until_a_time() -> None:
    from datetime import UTC, datetime, timedelta

    w = worker()
    now = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)

    assert w.override_schedule(now + timedelta(hours=4), now=now, cause=CAUSE) is True
    assert w.schedule_override_until == now + timedelta(hours=4)
    assert w.override_schedule(now + timedelta(hours=4), now=now, cause=CAUSE) is False
    assert w.override_schedule(None, now=now, cause=CAUSE) is True
    assert w.schedule_override_until is None
    (first, lifted) = w.collect_events()
    assert isinstance(first, CMLWorker.ScheduleOverridden) and lifted.until is None


@pytest.mark.parametrize("hours", [-1, 0, 24 * 7 + 1])
def test_an_override_must_end_in_the_coming_week(hours: int) -> None:
    from datetime import UTC, datetime, timedelta

    from domain.worker import OverrideOutOfRange

    now = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    with pytest.raises(OverrideOutOfRange, match="coming 7 days"):
        worker().override_schedule(now + timedelta(hours=hours), now=now, cause=CAUSE)
    with pytest.raises(InvalidValue, match="offset"):
        worker().override_schedule(datetime(2026, 12, 4, 20, 0), now=now, cause=CAUSE)
