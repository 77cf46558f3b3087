"""Webhook delivery on a real system (SQLite, the stdlib receiver of ``tools/`` on
127.0.0.1): each subscription gets just the events it selects, signed; a receiver that
fails is tried again after its back-off and then takes the event; one that never
answers makes a dead letter, sent again on request; a batch subscription gets pending
events together; the outbox starts at the log's end and never queues an event twice.
The outbox and the sender are stepped by hand (no background loop, no sleeping); the
clock is a fake one started at the real time (receivers refuse stale signatures)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from tools.webhook_receiver import Received, handler

from application.commands.lifecycle import (
    CreateWorker,
    PauseWorker,
    StopWorker,
    create_worker,
    pause_worker,
    stop_worker,
)
from application.commands.observations import ObserveInstance, observe_instance
from application.webhooks.subscriptions import Subscription
from domain.status import PauseReason
from domain.status import WorkerStatus as S
from infrastructure.running.webhooks.delivery import WebhookDelivery
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.builders import build_webhook_delivery
from tests.integration.test_http_api import settings_for

SECRET = "receiver-secret-0123"


class Receiver:
    def __init__(self, fail: int = 0, port: int = 0, delay: float = 0.0, skew: float = 0.0):
        self.received = Received(fail, delay, skew)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler(self.received, SECRET))
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return list(self.received.events)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    built = bootstrap(
        settings_for(tmp_path, webhook_max_attempts=3),
        clock=FakeClock(datetime.now(UTC).replace(microsecond=0)),
    )
    yield built
    built.close()


def running(system: System, name: str) -> UUID:
    created = create_worker(
        CreateWorker(name, "eu-west-1", "m5.xlarge", "ada", "c", ami_id="ami-0123456789abcdef0"),
        system.store,
    )
    observe_instance(ObserveInstance(created.worker_id, "job:metrics", "m", status=S.RUNNING),
                     system.store)  # fmt: skip
    return created.worker_id


def deliver(system: System, delivery: WebhookDelivery, position: int | None = None) -> int:
    """Queue what the log holds past the outbox's position, then one send round."""
    system.read_model.catch_up()
    start = system.webhooks.position() if position is None else position
    delivery.outbox.step(start)

    async def send() -> int:
        async with httpx.AsyncClient(timeout=5) as client:
            return await delivery.sender.round(client)

    return asyncio.run(send())


def started(system: System) -> WebhookDelivery:
    """The delivery part as the leader starts it: the outbox begins at the log's end."""
    delivery = build_webhook_delivery(system)
    delivery.outbox._first_position()
    return delivery


def test_each_subscription_gets_just_what_it_selects_signed_and_named(
    system: System, receiver: Receiver
) -> None:
    before = running(system, "lab-before")  # before the outbox: not sent
    delivery = started(system)
    system.webhooks.add(Subscription("idle", receiver.url, SECRET, ("auto-pause",)))
    system.webhooks.add(Subscription("sched", receiver.url, SECRET, ("schedule",),
                                     format="slack"))  # fmt: skip
    idle, manual, scheduled = (running(system, f"lab-{n}") for n in ("idle", "manual", "sched"))
    clock = system.clock
    pause_worker(PauseWorker(idle, "job:idle", "i", reason=PauseReason.IDLE_TIMEOUT,
                             idle_minutes=31.0), system.store, clock)  # fmt: skip
    pause_worker(PauseWorker(manual, "olga", "m"), system.store, clock)
    stop_worker(StopWorker(scheduled, "schedule:office", "s"), system.store)
    pause_worker(PauseWorker(before, "olga", "b"), system.store, clock)

    assert deliver(system, delivery) == 2

    cloud, slack = sorted(receiver.events(), key=lambda e: "text" in e)
    assert cloud["type"] == "io.cml-fleet.worker.paused"
    assert (cloud["subject"], cloud["cmlfleetworkername"]) == (str(idle), "lab-idle")
    assert cloud["data"]["reason"] == "idle_timeout" and cloud["data"]["idle_minutes"] == 31.0
    assert slack["text"].startswith("cml-fleet: worker lab-sched: stop requested")
    assert receiver.received.refused == 0


def test_a_failing_receiver_is_tried_again_after_its_back_off_then_takes_it(
    system: System,
) -> None:
    receiver = Receiver(fail=2)
    try:
        delivery = started(system)
        system.webhooks.add(Subscription("ops", receiver.url, SECRET, ("worker.paused",)))
        worker = running(system, "lab-1")
        pause_worker(PauseWorker(worker, "olga", "p"), system.store, system.clock)
        clock = system.clock
        assert isinstance(clock, FakeClock)

        assert deliver(system, delivery) == 1  # 503
        assert deliver(system, delivery) == 0  # resting: its back-off (5 s) has not passed
        clock.advance(timedelta(seconds=5))
        assert deliver(system, delivery) == 1  # 503 again; next in 30 s
        clock.advance(timedelta(seconds=30))
        assert deliver(system, delivery) == 1  # taken

        (done,) = system.webhooks.deliveries("ops", None, 10)
        assert (done.state, done.attempts, done.last_status) == ("delivered", 3, 200)
        assert [e["data"]["worker_id"] for e in receiver.events()] == [str(worker)]
    finally:
        receiver.close()


def test_a_receiver_that_never_answers_makes_a_dead_letter_that_can_be_sent_again(
    system: System,
) -> None:
    with socket.socket() as probe:  # a port where nothing listens (yet)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = f"http://127.0.0.1:{port}/hook"
    delivery = started(system)
    system.webhooks.add(Subscription("ops", nowhere, SECRET, ("worker.paused",)))
    pause_worker(PauseWorker(running(system, "lab-1"), "olga", "p"), system.store, system.clock)
    clock = system.clock
    assert isinstance(clock, FakeClock)

    for wait in (0, 5, 30):  # webhook_max_attempts=3
        clock.advance(timedelta(seconds=wait))
        assert deliver(system, delivery) == 1
    (dead,) = system.webhooks.deliveries(None, "dead", 10)
    assert dead.attempts == 3 and (dead.last_error or "").startswith("ConnectError")
    assert nowhere not in (dead.last_error or "")
    tomorrow = (clock.now() + timedelta(days=1)).timestamp()
    assert system.webhooks.due(tomorrow, 10) == []  # a dead letter is not tried by itself

    receiver = Receiver(port=port)  # the receiver is back
    try:
        assert system.webhooks.resend(dead.id, clock.now().timestamp())
        assert deliver(system, delivery) == 1
        (sent,) = system.webhooks.deliveries("ops", None, 10)
        assert (sent.state, sent.attempts) == ("delivered", 1)
        assert len(receiver.events()) == 1
    finally:
        receiver.close()


def test_a_batch_subscription_gets_pending_events_in_one_request(
    system: System, receiver: Receiver
) -> None:
    delivery = started(system)
    system.webhooks.add(Subscription("all", receiver.url, SECRET, ("worker.paused",),
                                     batch=True))  # fmt: skip
    for n in range(5):
        pause_worker(PauseWorker(running(system, f"lab-{n}"), "olga", "p"), system.store,
                     system.clock)  # fmt: skip

    assert deliver(system, delivery) == 5

    assert receiver.received.requests == 1 and len(receiver.events()) == 5


def test_replaying_the_log_from_an_older_position_queues_nothing_twice(
    system: System, receiver: Receiver
) -> None:
    delivery = started(system)
    start = system.webhooks.position()
    system.webhooks.add(Subscription("ops", receiver.url, SECRET, ("worker.paused",)))
    pause_worker(PauseWorker(running(system, "lab-1"), "olga", "p"), system.store, system.clock)

    deliver(system, delivery)
    deliver(system, delivery, position=start)  # as after a crash before the position was saved
    deliver(system, delivery)

    assert receiver.received.requests == 1 and len(receiver.events()) == 1
    assert json.loads(json.dumps(receiver.events()[0]))["data"]["actor"] == "olga"


def test_a_first_start_begins_at_the_logs_end_not_the_fleets_history(
    system: System, receiver: Receiver
) -> None:
    system.webhooks.add(Subscription("ops", receiver.url, SECRET, ("worker.paused",)))
    pause_worker(PauseWorker(running(system, "old"), "olga", "p"), system.store, system.clock)
    delivery = started(system)  # the first start, after that pause

    assert deliver(system, delivery) == 0
    pause_worker(PauseWorker(running(system, "new"), "olga", "p"), system.store, system.clock)
    assert deliver(system, delivery) == 1
    assert [e["cmlfleetworkername"] for e in receiver.events()] == ["new"]
