"""The webhook store behaves the same on SQLite and PostgreSQL, and across the processes
of a cluster: subscriptions kept with their secret, deliveries queued with the
follower's position in one step (a replayed batch queues nothing twice), due rows in
order, retries, dead letters and their resend, history by state, pruning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from application.webhooks.ports import Attempt, NewDelivery
from application.webhooks.subscriptions import Subscription
from infrastructure.store.webhook_store import open_webhook_store
from tests.contract.store_backends import DURABLE_BACKENDS, backend_settings, database_for

OPS = Subscription("ops", "https://hooks.example.com/a/b", "0123456789abcdef-ops", ("*",))
SLACK = Subscription(
    "chat", "https://hooks.slack.com/services/X", "0123456789abcdef-chat", ("auto-pause",),
    format="slack", batch=True, description="the on-call channel", created_by="ada",
)  # fmt: skip


def event(position: int) -> dict[str, Any]:
    return {"id": f"w:{position}", "data": {"type": "worker.paused"}}


@pytest.fixture(params=DURABLE_BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with (
        backend_settings(request.param, tmp_path) as settings,
        database_for(settings) as database,
    ):
        opened: list[Any] = []

        def open_one() -> Any:
            opened.append(open_webhook_store(settings, database))
            return opened[-1]

        yield open_one
        for store in opened:
            store.close()


def test_subscriptions_are_kept_whole_and_seen_by_another_process(stores: Any) -> None:
    one, other = stores(), stores()

    assert one.add(OPS) and one.add(SLACK)
    assert one.add(OPS) is False  # the id is taken
    assert other.subscriptions() == [SLACK, OPS]  # by id
    assert other.subscription("chat") == SLACK and other.subscription("none") is None


def test_queueing_moves_the_position_with_the_rows_and_a_replay_queues_nothing(
    stores: Any,
) -> None:
    store = stores()
    store.add(OPS)
    batch = [NewDelivery("ops", p, event(p)) for p in (3, 5)]

    store.enqueue(batch, 6, now=100.0)
    store.enqueue(batch, 6, now=101.0)  # the same batch again (a crash before the answer)
    store.enqueue([NewDelivery("ops", 4, event(4))], 5, now=102.0)  # behind the position

    assert stores().position() == 6
    assert [d.position for d in store.due(100.0, 10)] == [3, 5]
    assert store.counts() == {"ops": {"pending": 2}}


def test_a_failed_try_waits_its_back_off_then_is_delivered(stores: Any) -> None:
    store = stores()
    store.add(OPS)
    store.enqueue([NewDelivery("ops", 1, event(1))], 1, now=100.0)
    (first,) = store.due(100.0, 10)

    store.record([Attempt(first.id, 101.0, 503, "answered 503", 106.0, ok=False)])
    assert store.due(105.0, 10) == []
    (again,) = store.due(106.0, 10)
    store.record([Attempt(again.id, 106.5, 200, None, None, ok=True)])

    (done,) = store.deliveries("ops", "delivered", 10)
    assert (done.attempts, done.last_status, done.delivered_at) == (2, 200, 106.5)
    assert store.due(1e12, 10) == []


def test_a_dead_letter_is_listed_and_sent_again_on_request(stores: Any) -> None:
    store = stores()
    store.add(OPS)
    store.enqueue([NewDelivery("ops", p, event(p)) for p in (1, 2)], 2, now=100.0)
    first, second = store.due(100.0, 10)

    store.record([Attempt(first.id, 101.0, None, "ConnectError: refused", None, ok=False)])

    (dead,) = store.deliveries(None, "dead", 10)
    assert (dead.id, dead.attempts, dead.last_error) == (first.id, 1, "ConnectError: refused")
    assert store.resend(second.id, 200.0) is False  # pending, not dead
    assert store.resend(dead.id, 200.0) is True
    assert [d.id for d in store.due(200.0, 10)] == [second.id, first.id]  # by when due
    assert store.deliveries(None, "dead", 10) == []


def test_pruning_forgets_old_deliveries_only_and_removing_a_subscription_its_rows(
    stores: Any,
) -> None:
    store = stores()
    store.add(OPS)
    store.add(SLACK)
    store.enqueue([NewDelivery(s, 1, event(1)) for s in ("ops", "chat")], 1, now=100.0)
    ops, chat = sorted(store.due(100.0, 10), key=lambda d: d.subscription_id != "ops")
    store.record([Attempt(ops.id, 110.0, 200, None, None, ok=True)])

    assert store.prune(before=105.0) == 0
    assert store.prune(before=111.0) == 1
    assert store.remove("chat") is True and store.remove("chat") is False
    assert store.counts() == {} and store.subscriptions() == [OPS]
    assert chat.subscription_id == "chat"
