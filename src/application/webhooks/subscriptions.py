"""Webhook subscriptions: where to send which of the fleet's events, and how.

A subscription names what it wants by selectors: a public event type from the
notification catalogue (``worker.paused``) or a named kind of event an operator asks
for by purpose (``auto-pause``, ``schedule``, ``operation-failed``, ``license``,
``unreachable``; ``*`` for every event). Each selector is the event types it may match
plus a test of the notification, so the follower decodes only the events some
subscription may want.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from application.notifications import CATALOGUE, WorkerNotification
from domain.errors import InvalidValue

Format = Literal["cloudevents", "slack"]
Test = Callable[[WorkerNotification], bool]
EVENT_TYPES: frozenset[str] = frozenset(kind for kind, _ in CATALOGUE.values())
SCHEDULE_TYPES = frozenset(
    {"worker.start.requested", "worker.stop.requested", "worker.paused", "worker.resumed"}
)
LICENSE_TROUBLE = frozenset({"expired", "failed"})
MAX_SELECTORS = 50
MAX_URL = 2000
SECRET_LENGTH = (16, 200)
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _always(_: WorkerNotification) -> bool:
    return True


def _license_trouble(n: WorkerNotification) -> bool:
    return n.type.endswith(".failed") or n.payload.get("license_status") in LICENSE_TROUBLE


GROUPS: Mapping[str, tuple[frozenset[str], Test]] = {
    "auto-pause": (
        frozenset({"worker.paused"}),
        lambda n: n.payload.get("reason") == "idle_timeout",
    ),
    "schedule": (SCHEDULE_TYPES, lambda n: n.actor.startswith("schedule:")),
    "operation-failed": (
        frozenset({"worker.operation.failed", "worker.lab.operation.failed"}),
        _always,
    ),
    "license": (
        frozenset(
            {
                "worker.license.registration.failed",
                "worker.license.deregistration.failed",
                "worker.license.observed",
            }
        ),
        _license_trouble,
    ),
    "unreachable": (
        frozenset({"worker.service_status.changed"}),
        lambda n: n.payload.get("service_status") == "unreachable",
    ),
    "budget": (frozenset(), _always),  # budget alerts: not in the log (application.budgets)
    "*": (EVENT_TYPES, _always),
}
"""Selectors by purpose: the event types each may match, and its test."""


def selector(name: str) -> tuple[frozenset[str], Test]:
    """What a selector matches; an event type stands for itself."""
    if name in GROUPS:
        return GROUPS[name]
    if name in EVENT_TYPES:
        return frozenset({name}), _always
    raise InvalidValue("events", f"not an event type or group: {name[:60]!r}")


@dataclass(frozen=True)
class Subscription:
    """Send the events ``events`` selects to ``url``, signed with ``secret``."""

    id: str
    url: str
    secret: str
    events: tuple[str, ...]
    format: Format = "cloudevents"
    batch: bool = False
    """Several pending events in one request (CloudEvents batch mode)."""
    description: str = ""
    created_by: str = ""

    def __post_init__(self) -> None:
        if not ID.match(self.id):
            raise InvalidValue("id", "1-63 of a-z, 0-9 and -, starting with a letter or digit")
        check_url(self.url)
        if not SECRET_LENGTH[0] <= len(self.secret) <= SECRET_LENGTH[1]:
            raise InvalidValue("secret", "16 to 200 characters")
        if not self.events or len(self.events) > MAX_SELECTORS:
            raise InvalidValue("events", f"1 to {MAX_SELECTORS} event types or groups")
        for name in self.events:
            selector(name)
        if self.format not in ("cloudevents", "slack"):
            raise InvalidValue("format", "cloudevents or slack")

    @property
    def types(self) -> frozenset[str]:
        """Every event type it may want."""
        return frozenset().union(*(selector(name)[0] for name in self.events))

    def wants(self, notification: WorkerNotification) -> bool:
        for name in self.events:
            types, test = selector(name)
            if notification.type in types and test(notification):
                return True
        return False

    @property
    def target(self) -> str:
        """Where it sends, shown to people: scheme and host only (a Slack URL's path is
        its secret)."""
        return url_hint(self.url)


def check_url(url: str) -> None:
    if len(url) > MAX_URL:
        raise InvalidValue("url", f"at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port out of range raises)
    except ValueError:
        raise InvalidValue("url", "not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue("url", "an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidValue("url", "no user or password in the URL: sign with the secret")


def url_hint(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…"


def wanted_types(subscriptions: Iterable[Subscription]) -> frozenset[str]:
    return frozenset().union(*(s.types for s in subscriptions))
