"""The webhook outbox: follows the event log from its own tracked position and queues a
delivery for each event a subscription wants, in the same transaction as the new
position (``WebhookStore.enqueue``). A crash re-reads at most the batch that was not
committed, and the store ignores it if it was: nothing is queued twice or lost.

A first start begins at the log's end: subscribers hear what happens from now on, not
the fleet's history."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread
from eventsourcing.persistence import Notification

from application.notifications import CATALOGUE, to_notification
from application.ports import RunSync
from application.webhooks.messages import cloud_event
from application.webhooks.ports import NewDelivery, WebhookStore
from application.webhooks.subscriptions import Subscription, wanted_types
from infrastructure.running.webhooks.tasks import stop_task
from infrastructure.store.event_store import FleetEventStore

log = logging.getLogger(__name__)

BATCH_SIZE = 500
IDLE_WAIT_SECONDS = 0.5
TYPE_OF_TOPIC: dict[str, str] = {str(cls.__dict__["TOPIC"]): kind for cls, (kind, _) in
                                 CATALOGUE.items()}  # fmt: skip


class WebhookOutbox:
    def __init__(
        self,
        *,
        store: FleetEventStore,
        webhooks: WebhookStore,
        run_sync: RunSync,
        now: Callable[[], float],
        name_of: Callable[[str], str | None] = lambda worker_id: None,
        queued: Callable[[], None] = lambda: None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.store, self.webhooks, self.run_sync = store, webhooks, run_sync
        self.now, self.name_of, self.queued = now, name_of, queued
        self.batch_size = batch_size
        self.read_failures = 0
        self._task: asyncio.Task[None] | None = None
        self._waiting = anyio.CapacityLimiter(1)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="webhook-outbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self.store.wake()
            await stop_task(task)

    async def _follow(self) -> None:
        position = await self.run_sync(self._first_position)
        log.info("webhook outbox started at position %d", position)
        while True:
            try:
                last, count = await self.run_sync(self.step, position)
            except Exception:  # the store may be briefly unavailable: never stop
                if self.read_failures == 0:
                    log.exception("webhook outbox: reading or queueing failed; retrying")
                self.read_failures += 1
                await asyncio.sleep(IDLE_WAIT_SECONDS)
                continue
            self.read_failures = 0
            if count:
                self.queued()
            if last == position:
                await anyio.to_thread.run_sync(
                    self.store.wait_for_append, position, IDLE_WAIT_SECONDS,
                    abandon_on_cancel=True, limiter=self._waiting,
                )  # fmt: skip
            position = last

    def _first_position(self) -> int:
        position = self.webhooks.position()
        if position == 0:
            position = self.store.max_position()
            self.webhooks.enqueue((), position, self.now())
        return position

    def step(self, after: int) -> tuple[int, int]:
        """Queue what the next batch of the log asks for (in a thread); the last position
        read, and how many deliveries were queued."""
        notifications = self.store.read_log(after, self.batch_size)
        if not notifications:
            return after, 0
        last = notifications[-1].id
        deliveries = self.deliveries(notifications, self.webhooks.subscriptions())
        self.webhooks.enqueue(deliveries, last, self.now())
        return last, len(deliveries)

    def deliveries(
        self, notifications: Sequence[Notification], subscriptions: Sequence[Subscription]
    ) -> list[NewDelivery]:
        wanted = wanted_types(subscriptions)
        found = []
        for n in notifications:
            if TYPE_OF_TOPIC.get(n.topic) not in wanted:
                continue
            notification = to_notification(self.store.to_domain_event(n))
            takers = [s for s in subscriptions if s.wants(notification)]
            if not takers:
                continue
            event: dict[str, Any] = cloud_event(notification)
            name = self.name_of(notification.worker_id) or notification.payload.get("name")
            if name is not None:
                event["cmlfleetworkername"] = name
            found += [NewDelivery(s.id, n.id, event) for s in takers]
        return found
