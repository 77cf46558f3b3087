"""Where subscriptions and their deliveries are kept (SQLite or PostgreSQL,
``infrastructure.store.webhook_store``), and what a delivery is.

Each event a subscription wants becomes one delivery row, written in the same
transaction as the follower's position in the log (:meth:`WebhookStore.enqueue`): after
a crash the follower resumes where the rows end, so no event is queued twice or lost.
Sending moves a row from ``pending`` to ``delivered``, or after its last attempt to
``dead`` (the dead letters, which an admin can send again)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from application.webhooks.subscriptions import Subscription

State = Literal["pending", "delivered", "dead"]
STATES: tuple[State, ...] = ("pending", "delivered", "dead")


@dataclass(frozen=True)
class NewDelivery:
    subscription_id: str
    position: int
    event: dict[str, Any]
    """The CloudEvent, as sent."""


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: str
    position: int
    event_id: str
    event_type: str
    event_json: str
    """The CloudEvent as stored, sent as it is (no decoding on the way out)."""
    state: State
    attempts: int
    next_attempt_at: float
    created_at: float
    last_attempt_at: float | None
    last_status: int | None
    last_error: str | None
    delivered_at: float | None

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.event_json))


@dataclass(frozen=True)
class Attempt:
    """How sending one delivery went."""

    delivery_id: int
    at: float
    status: int | None
    error: str | None
    next_attempt_at: float | None
    """``None``: no more tries (delivered, or dead when ``ok`` is false)."""
    ok: bool


class WebhookStore(Protocol):
    """Synchronous and thread-safe; shared by every process on PostgreSQL."""

    # subscriptions
    def add(self, subscription: Subscription) -> bool:
        """Store a new one (``False``: the id is taken)."""
        ...

    def subscriptions(self) -> Sequence[Subscription]: ...

    def subscription(self, subscription_id: str) -> Subscription | None: ...

    def remove(self, subscription_id: str) -> bool:
        """Drop it and its deliveries."""
        ...

    # the follower
    def position(self) -> int:
        """The last log position turned into deliveries."""
        ...

    def enqueue(self, deliveries: Sequence[NewDelivery], position: int, now: float) -> None:
        """Queue ``deliveries`` and move the position to ``position``, atomically; a
        position not past the stored one queues nothing (already done)."""
        ...

    # the sender
    def due(self, now: float, limit: int) -> Sequence[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        ...

    def record(self, attempts: Sequence[Attempt]) -> None: ...

    # the admin's view
    def deliveries(
        self, subscription_id: str | None, state: State | None, limit: int
    ) -> Sequence[Delivery]:
        """Newest first."""
        ...

    def counts(self) -> dict[str, dict[str, int]]:
        """Deliveries by subscription and state."""
        ...

    def resend(self, delivery_id: int, now: float) -> bool:
        """A dead delivery is pending again with its attempts reset (``False``: none such)."""
        ...

    def prune(self, before: float) -> int:
        """Forget delivered rows delivered before ``before``; how many."""
        ...

    def close(self) -> None: ...
