"""The webhook delivery part: the outbox and the sender, started and stopped together
by the leader (``System.leader_parts``)."""

from __future__ import annotations

from collections.abc import Callable

from application.ports import RunSync
from application.webhooks.ports import WebhookStore
from infrastructure.running.webhooks.outbox import WebhookOutbox
from infrastructure.running.webhooks.sender import WebhookSender
from infrastructure.store.event_store import FleetEventStore


class WebhookDelivery:
    def __init__(
        self,
        *,
        store: FleetEventStore,
        webhooks: WebhookStore,
        run_sync: RunSync,
        now: Callable[[], float],
        name_of: Callable[[str], str | None],
        max_attempts: int,
        timeout: float,
        retention_seconds: float,
    ) -> None:
        self.sender = WebhookSender(
            webhooks=webhooks,
            run_sync=run_sync,
            now=now,
            max_attempts=max_attempts,
            timeout=timeout,
            retention_seconds=retention_seconds,
        )
        self.outbox = WebhookOutbox(
            store=store,
            webhooks=webhooks,
            run_sync=run_sync,
            now=now,
            name_of=name_of,
            queued=self.sender.wake,
        )

    async def start(self) -> None:
        await self.sender.start()
        await self.outbox.start()

    async def stop(self) -> None:
        await self.outbox.stop()
        await self.sender.stop()
