"""What a webhook request carries: a CloudEvent (structured, or a batch of them) or a
Slack-compatible message, and its signature.

Signing follows the Standard Webhooks scheme: ``webhook-id``, ``webhook-timestamp``
(Unix seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``
with the subscription's secret, so a receiver checks authenticity and freshness with
any Standard Webhooks library or a few lines of its own (``notes/WEBHOOKS.md``). The
``webhook-id`` of a single event is its CloudEvent ``id``: the same on every attempt,
so a receiver that has seen it knows a repeat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from application.notifications import WorkerNotification

SOURCE = "/cml-fleet"
TYPE_PREFIX = "io.cml-fleet."
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)


def event_id(n: WorkerNotification) -> str:
    """Stable across attempts, restarts and processes: the worker and its version."""
    return f"{n.worker_id}:{n.version}"


def cloud_event(n: WorkerNotification) -> dict[str, Any]:
    """The CloudEvents 1.0 JSON form of one notification."""
    return {
        "specversion": "1.0",
        "id": event_id(n),
        "source": f"{SOURCE}/workers/{n.worker_id}",
        "type": TYPE_PREFIX + n.type,
        "subject": n.worker_id,
        "time": n.at,
        "datacontenttype": "application/json",
        "data": {
            "type": n.type,
            "actor": n.actor,
            "correlation_id": n.correlation_id,
            **n.payload,
        },
    }


def slack_text(event: Mapping[str, Any], name: str | None = None) -> str:
    """One line an operator reads in a channel."""
    data = event["data"]
    if data["type"].startswith("budget."):
        return (f"cml-fleet: budget {data['budget']} reached {data['threshold']} % in "
                f"{data['month']}: {data['spend']:,.2f} of {data['amount']:,.2f} "
                f"{data['currency']} (forecast {data['forecast']:,.2f})")  # fmt: skip
    what = data["type"].removeprefix("worker.").replace("_", " ").replace(".", " ")
    worker = name or data["worker_id"]
    detail = [f"{k}={data[k]}" for k in ("reason", "status", "service_status") if data.get(k)]
    more = f" ({', '.join(detail)})" if detail else ""
    return f"cml-fleet: worker {worker}: {what}{more}, by {data['actor']} at {event['time']}"


def body(events: Sequence[str], form: str, batch: bool) -> tuple[bytes, str]:
    """The request body and its content type for ``events`` (CloudEvents as JSON text,
    sent as they are stored)."""
    if form == "slack":
        parsed = [json.loads(e) for e in events]
        text = "\n".join(slack_text(e, e.get("cmlfleetworkername")) for e in parsed)
        return json.dumps({"text": text}).encode(), "application/json"
    if batch:
        return ("[" + ",".join(events) + "]").encode(), BATCH
    assert len(events) == 1
    return events[0].encode(), STRUCTURED


def event_json(event: Mapping[str, Any]) -> str:
    """A CloudEvent as the JSON text stored and sent."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def message_id(ids: Sequence[str]) -> str:
    """The ``webhook-id``: the event's own id, or a batch's first and last."""
    return ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}"


def signing_key(secret: str) -> bytes:
    """The HMAC key: a Standard Webhooks secret (``whsec_`` + base64) is its bytes;
    any other secret its UTF-8 (a Standard Webhooks library takes it as bytes)."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_") + "==")
        except ValueError:
            pass
    return secret.encode()


def signature(secret: str, msg_id: str, timestamp: int, payload: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, payload: bytes, media: str) -> dict[str, str]:
    return {
        "content-type": media,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, payload),
        "user-agent": "cml-fleet-webhooks",
    }


def verify(secret: str, headers: Mapping[str, str], payload: bytes) -> bool:
    """What a receiver does (used by the test receiver and the walk-through's)."""
    try:
        expected = signature(
            secret, headers["webhook-id"], int(headers["webhook-timestamp"]), payload
        )
    except (KeyError, ValueError):
        return False
    given = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, g) for g in given)


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1`` (after ``attempt`` failed ones)."""
    return float(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])
