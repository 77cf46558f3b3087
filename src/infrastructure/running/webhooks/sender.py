"""The webhook sender: sends due deliveries, each subscription's in order, one request
at a time per subscription (several subscriptions at once), and records how it went.

A 2xx answer delivers; anything else (another status, a timeout, a refused connection)
is tried again after a back-off (``messages.backoff``) until ``max_attempts``, then the
delivery is a dead letter. A subscription whose receiver failed rests until its next
try is due, so a receiver that is down is not sent every pending event each round.

Delivery is at least once: a crash after the receiver answered and before the answer is
recorded sends that request again, with the same ``webhook-id`` (the CloudEvent ``id``),
so a receiver that remembers ids (as CloudEvents and Standard Webhooks ask) sees each
event once. At most one request per subscription is in flight at a time, which bounds
such repeats to one request per subscription per crash."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import httpx

from application.ports import RunSync
from application.webhooks.messages import backoff, body, headers, message_id
from application.webhooks.ports import Attempt, Delivery, WebhookStore
from application.webhooks.subscriptions import Subscription
from infrastructure.running.webhooks.tasks import stop_task

log = logging.getLogger(__name__)

DUE_LIMIT = 2000
BATCH_LIMIT = 100
IDLE_WAIT_SECONDS = 1.0
PRUNE_EVERY_SECONDS = 600.0


class WebhookSender:
    def __init__(
        self,
        *,
        webhooks: WebhookStore,
        run_sync: RunSync,
        now: Callable[[], float],
        max_attempts: int = 8,
        timeout: float = 10.0,
        retention_seconds: float = 7 * 86400,
        concurrency: int = 32,
    ) -> None:
        self.webhooks, self.run_sync, self.now = webhooks, run_sync, now
        self.max_attempts, self.timeout = max_attempts, timeout
        self.retention_seconds = retention_seconds
        self.concurrency = concurrency
        self.sent = {"delivered": 0, "failed": 0, "dead": 0}  # requests, for /metrics
        self._resting: dict[str, float] = {}  # subscription -> until
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    def wake(self) -> None:
        """New deliveries are queued (the outbox calls this)."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._send_loop(), name="webhook-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task)

    async def _send_loop(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency * 2)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            while True:
                try:
                    sent = await self.round(client)
                    await self._prune()
                except Exception:
                    log.exception("webhook sender: a round failed; trying again")
                    sent = 0
                if not sent:
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(IDLE_WAIT_SECONDS):
                            await self._wake.wait()
                    except TimeoutError:
                        pass

    async def round(self, client: httpx.AsyncClient) -> int:
        """Send what is due now; how many deliveries were tried."""
        now = self.now()
        due = await self.run_sync(self.webhooks.due, now, DUE_LIMIT)
        if not due:
            return 0
        subscriptions = {s.id: s for s in await self.run_sync(self.webhooks.subscriptions)}
        queues: dict[str, list[Delivery]] = defaultdict(list)
        for d in due:
            if self._resting.get(d.subscription_id, 0.0) <= now:
                queues[d.subscription_id].append(d)
        limit = asyncio.Semaphore(self.concurrency)
        runs = [
            self._send_queue(client, subscriptions[sid], queue, limit)
            for sid, queue in queues.items()
            if sid in subscriptions
        ]
        tried = await asyncio.gather(*runs)
        return sum(tried)

    async def _send_queue(
        self,
        client: httpx.AsyncClient,
        subscription: Subscription,
        queue: Sequence[Delivery],
        limit: asyncio.Semaphore,
    ) -> int:
        size = BATCH_LIMIT if subscription.batch else 1
        tried = 0
        async with limit:
            for start in range(0, len(queue), size):
                chunk = queue[start : start + size]
                attempts = await self._send(client, subscription, chunk)
                await self.run_sync(self.webhooks.record, attempts)
                tried += len(chunk)
                if not attempts[0].ok:
                    self._resting[subscription.id] = attempts[0].next_attempt_at or self.now()
                    break
        return tried

    async def _send(
        self, client: httpx.AsyncClient, subscription: Subscription, chunk: Sequence[Delivery]
    ) -> list[Attempt]:
        texts = [d.event_json for d in chunk]
        payload, media = body(texts, subscription.format, subscription.batch)
        msg_id = message_id([d.event_id for d in chunk])
        sent_headers = headers(subscription.secret, msg_id, int(self.now()), payload, media)
        status: int | None = None
        error: str | None = None
        try:
            answer = await client.post(subscription.url, content=payload, headers=sent_headers)
            status = answer.status_code
            if not 200 <= status < 300:
                error = f"answered {status}"
        except httpx.HTTPError as exc:
            said = str(exc).replace(subscription.url, subscription.target)  # no URL secrets
            error = f"{type(exc).__name__}: {said}"[:300]
        at = self.now()
        ok = error is None
        self.sent["delivered" if ok else "failed"] += len(chunk)
        attempts = []
        for d in chunk:
            retry: float | None = None
            if not ok and d.attempts + 1 < self.max_attempts:
                retry = at + backoff(d.attempts + 1)
            elif not ok:
                self.sent["dead"] += 1
                log.warning(
                    "webhook %s: delivery %d is a dead letter after %d tries (%s)",
                    subscription.id, d.id, d.attempts + 1, error,
                )  # fmt: skip
            attempts.append(Attempt(d.id, at, status, error, retry, ok))
        return attempts

    async def _prune(self) -> None:
        now = self.now()
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            await self.run_sync(self.webhooks.prune, now - self.retention_seconds)
