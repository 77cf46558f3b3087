"""What a webhook carries and how it is signed, checked with the third-party libraries a
receiver would use: the CloudEvents SDK reads our events, the Standard Webhooks library
verifies our signatures (with a plain secret and a ``whsec_`` one), and so does the
stdlib receiver in ``tools/``; a changed byte or an old timestamp is refused."""

from __future__ import annotations

import base64
import json
import time
from uuid import uuid4

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from standardwebhooks import Webhook, WebhookVerificationError
from tools.webhook_receiver import signature_ok

from application.notifications import WorkerNotification
from application.webhooks.messages import (
    BATCH,
    STRUCTURED,
    backoff,
    body,
    cloud_event,
    event_json,
    headers,
    message_id,
    verify,
)

SECRET = "a-plain-secret-of-some-length"
WHSEC = "whsec_" + base64.b64encode(b"sixteen random bytes!").decode()


def paused(
    version: int = 7, actor: str = "job:idle", reason: str = "idle_timeout"
) -> WorkerNotification:
    worker = str(uuid4())
    payload = {"worker_id": worker, "actor": actor, "at": "2026-12-05T10:00:00.000Z",
               "version": version, "reason": reason, "status": "stopping"}  # fmt: skip
    return WorkerNotification("worker.paused", worker, version, payload["at"], actor, "c-1",
                              payload)  # fmt: skip


def test_a_cloud_event_is_read_back_by_the_cloudevents_sdk_with_its_data() -> None:
    n = paused()
    payload, media = body([event_json(cloud_event(n))], "cloudevents", batch=False)

    event = from_http_event(HTTPMessage({"content-type": media}, payload))

    assert media == STRUCTURED
    assert (event.get_type(), event.get_id(), event.get_specversion()) == (
        "io.cml-fleet.worker.paused", f"{n.worker_id}:7", "1.0",
    )  # fmt: skip
    assert event.get_source() == f"/cml-fleet/workers/{n.worker_id}"
    data = event.get_data()
    assert isinstance(data, dict)
    assert data["reason"] == "idle_timeout" and data["actor"] == "job:idle"
    assert event.get_time() is not None


@pytest.mark.parametrize("secret", [SECRET, WHSEC])
def test_signatures_verify_with_the_standard_webhooks_library_and_the_stdlib_receiver(
    secret: str,
) -> None:
    events = [cloud_event(paused())]
    payload, media = body([event_json(e) for e in events], "cloudevents", batch=False)
    sent = headers(secret, message_id([e["id"] for e in events]), int(time.time()), payload, media)

    library = Webhook(secret if secret.startswith("whsec_") else secret.encode())
    assert library.verify(payload, sent)["id"] == events[0]["id"]
    assert signature_ok(secret, sent, payload, time.time())
    assert verify(secret, sent, payload)


def test_a_changed_byte_another_secret_or_an_old_timestamp_is_refused() -> None:
    events = [cloud_event(paused())]
    payload, media = body([event_json(e) for e in events], "cloudevents", batch=False)
    old = int(time.time()) - 3600
    sent = headers(SECRET, message_id([e["id"] for e in events]), int(time.time()), payload, media)
    stale = headers(SECRET, message_id([e["id"] for e in events]), old, payload, media)
    changed = payload.replace(b"idle_timeout", b"idle_timeouT")

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET.encode()).verify(changed, sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another-secret-entirely").verify(payload, sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET.encode()).verify(payload, stale)
    assert not signature_ok(SECRET, sent, changed, time.time())
    assert not signature_ok(SECRET, stale, payload, time.time())


def test_the_same_event_has_the_same_id_on_every_attempt_and_a_batch_is_one_list() -> None:
    n, m = paused(3), paused(4)
    first, again = cloud_event(n), cloud_event(n)
    payload, media = body(
        [event_json(first), event_json(cloud_event(m))], "cloudevents", batch=True
    )

    assert first["id"] == again["id"] == message_id([first["id"]])
    assert media == BATCH and [e["id"] for e in json.loads(payload)] == [
        f"{n.worker_id}:3", f"{m.worker_id}:4",
    ]  # fmt: skip


def test_a_slack_body_is_one_readable_line_per_event_with_the_workers_name() -> None:
    event = cloud_event(paused(actor="schedule:office", reason="schedule")) | {
        "cmlfleetworkername": "lab-7"
    }

    payload, media = body([event_json(event)], "slack", batch=False)

    text = json.loads(payload)["text"]
    assert media == "application/json"
    assert text.startswith("cml-fleet: worker lab-7: paused (reason=schedule, status=stopping)")
    assert "by schedule:office" in text


def test_back_off_grows_then_stays_at_its_longest() -> None:
    waits = [backoff(n) for n in range(1, 12)]

    assert waits[:3] == [5.0, 30.0, 120.0]
    assert waits == sorted(waits) and waits[-1] == waits[-4] == 6 * 3600.0
