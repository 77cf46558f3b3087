"""Which events a subscription wants: event types stand for themselves, groups select by
purpose (an idle pause, a schedule's action, a failure, a license in trouble, an
unreachable worker), and bad subscriptions are refused saying why."""

from __future__ import annotations

from typing import Any

import pytest

from application.notifications import WorkerNotification
from application.webhooks.subscriptions import Subscription
from domain.errors import InvalidValue

SECRET = "0123456789abcdef"


def note(kind: str, actor: str = "admin", **payload: Any) -> WorkerNotification:
    return WorkerNotification(kind, "w", 2, "2026-12-05T10:00:00.000Z", actor, "c", payload)


def wanting(*events: str) -> Subscription:
    return Subscription("ops", "https://hooks.example.com/x/y", SECRET, events)


CASES = [
    ("auto-pause", note("worker.paused", "job:idle", reason="idle_timeout"), True),
    ("auto-pause", note("worker.paused", reason="manual"), False),
    ("schedule", note("worker.stop.requested", "schedule:office"), True),
    ("schedule", note("worker.paused", "schedule:office", reason="schedule"), True),
    ("schedule", note("worker.stop.requested", "olga"), False),
    ("operation-failed", note("worker.operation.failed", "reactor"), True),
    ("operation-failed", note("worker.lab.operation.failed", "reactor"), True),
    ("license", note("worker.license.registration.failed"), True),
    ("license", note("worker.license.observed", license_status="expired"), True),
    ("license", note("worker.license.observed", license_status="registered"), False),
    ("unreachable", note("worker.service_status.changed", service_status="unreachable"), True),
    ("unreachable", note("worker.service_status.changed", service_status="ready"), False),
    ("worker.resumed", note("worker.resumed"), True),
    ("worker.resumed", note("worker.paused"), False),
    ("*", note("worker.metrics.recorded"), True),
]


@pytest.mark.parametrize(("selector", "event", "wanted"), CASES)
def test_each_selector_wants_just_its_events(
    selector: str, event: WorkerNotification, wanted: bool
) -> None:
    subscription = wanting(selector)

    assert subscription.wants(event) is wanted
    assert event.type in subscription.types or not wanted


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://user:pw@example.com/x"}, "url"),
        ({"url": "https://example.com:99999/x"}, "url"),
        ({"url": "example.com/x"}, "url"),
        ({"secret": "short"}, "secret"),
        ({"events": ()}, "events"),
        ({"events": ("worker.exploded",)}, "events"),
        ({"format": "xml"}, "format"),
        ({"id": "Has Spaces"}, "id"),
    ],
)
def test_a_bad_subscription_is_refused_naming_what_is_wrong(
    change: dict[str, Any], field: str
) -> None:
    given: dict[str, Any] = {"id": "ops", "url": "https://x.example/h", "secret": SECRET,
                             "events": ("worker.paused",)} | change  # fmt: skip
    with pytest.raises(InvalidValue) as refused:
        Subscription(**given)
    assert refused.value.field == field


def test_people_see_where_it_sends_but_not_the_path_that_may_be_its_secret() -> None:
    slack = Subscription("s", "https://hooks.slack.com/services/T0/B0/XyZsecret", SECRET, ("*",))

    assert slack.target == "https://hooks.slack.com/…"
    assert "XyZsecret" not in repr(slack.target)
