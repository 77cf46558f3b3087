"""``/api/webhooks`` and ``/api/webhook-deliveries`` on a running app: an admin
subscribes a receiver, a paused worker reaches it, the delivery history and counts say
so; the secret and the URL's path are never shown; other roles are refused; bad
subscriptions are refused naming the field and change nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.integration.test_http_api import settings_for
from tests.integration.test_webhook_delivery import SECRET, Receiver, running

HOOK = {"id": "ops", "secret": SECRET, "events": ["worker.paused", "auto-pause"],
        "description": "on-call"}  # fmt: skip


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str], system: System) -> None:
        self.client, self.tokens, self.system = client, tokens, system

    def call(self, role: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
        sent = {"Authorization": f"Bearer {self.tokens[role]}", **headers}
        return self.client.request(method, path, json=body, headers=sent)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path))
    tokens = {r.value: system.auth.create_token(r, r.value) for r in Role}
    with TestClient(create_app(system)) as client:
        yield Api(client, tokens, system)


def poll(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.02)  # a polling interval, not a timing assumption
    raise AssertionError("timed out")


def test_a_paused_worker_reaches_the_subscribed_receiver_and_the_history_says_so(
    api: Api, receiver: Receiver
) -> None:
    created = api.call("admin", "POST", "/api/webhooks", HOOK | {"url": receiver.url})
    worker = running(api.system, "lab-1")
    paused = api.call("operator", "POST", f"/api/workers/{worker}/pause")

    (event,) = poll(receiver.events)
    assert (created.status_code, paused.status_code) == (201, 202)
    assert (event["type"], event["subject"]) == ("io.cml-fleet.worker.paused", str(worker))
    assert (event["data"]["actor"], event["cmlfleetworkername"]) == ("operator", "lab-1")
    (delivery,) = poll(lambda: api.call("admin", "GET", "/api/webhook-deliveries?state=delivered")
                       .json()["items"])  # fmt: skip
    assert (delivery["subscription"], delivery["event_type"]) == ("ops", "worker.paused")
    assert (delivery["attempts"], delivery["last_status"]) == (1, 200)
    assert delivery["event_id"] == event["id"]
    listed = api.call("admin", "GET", "/api/webhooks").json()["items"]
    assert (listed[0]["delivered"], listed[0]["pending"]) == (1, 0)
    shown = [created.text, json.dumps(listed), json.dumps(delivery)]
    assert not any(SECRET in text or "/hook" in text for text in shown)


def test_the_subscription_round_trip(api: Api, receiver: Receiver) -> None:
    view = api.call("admin", "POST", "/api/webhooks", HOOK | {"url": receiver.url}).json()

    assert view["target"] == receiver.url.removesuffix("/hook") + "/…"
    assert (view["events"], view["format"], view["batch"]) == (HOOK["events"], "cloudevents", False)
    assert (view["created_by"], view["pending"], view["dead"]) == ("admin", 0, 0)
    assert api.call("admin", "GET", "/api/webhooks/ops").json() == view
    assert api.call("admin", "GET", "/api/webhooks").json()["items"] == [view]
    again = api.call("admin", "POST", "/api/webhooks", HOOK | {"url": receiver.url})
    assert again.status_code == 409 and again.json()["type"].endswith(":webhook-exists")
    assert api.call("admin", "DELETE", "/api/webhooks/ops").status_code == 204
    assert api.call("admin", "GET", "/api/webhooks/ops").status_code == 404
    assert api.call("admin", "DELETE", "/api/webhooks/ops").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "https://user:pw@example.com/hook"}, "url"),
        ({"url": "https://example.com:70000/hook"}, "url"),
        ({"secret": "short"}, "secret"),
        ({"events": []}, "events"),
        ({"events": ["worker.exploded"]}, "events"),
        ({"format": "xml"}, "format"),
        ({"id": "Not A Name"}, "id"),
        ({"surprise": True}, "surprise"),
        ({"batch": "yes"}, "batch"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field_and_nothing_is_stored(
    api: Api, change: dict[str, Any], field: str
) -> None:
    answer = api.call(
        "admin", "POST", "/api/webhooks", HOOK | {"url": "https://x.example/h"} | change
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text
    assert api.call("admin", "GET", "/api/webhooks").json()["items"] == []


def test_only_admins_manage_or_read_webhooks(api: Api, receiver: Receiver) -> None:
    for role in ("viewer", "operator"):
        for method, path, body in (
            ("GET", "/api/webhooks", None),
            ("POST", "/api/webhooks", HOOK | {"url": receiver.url}),
            ("GET", "/api/webhook-deliveries", None),
            ("POST", "/api/webhook-deliveries/1/resend", None),
        ):
            assert api.call(role, method, path, body).status_code == 403, (role, method, path)


def test_deliveries_are_listed_by_state_and_a_resend_needs_a_dead_letter(api: Api) -> None:
    assert api.call("admin", "GET", "/api/webhook-deliveries?state=dead").json() == {"items": []}
    bad = api.call("admin", "GET", "/api/webhook-deliveries?state=lost")
    assert bad.status_code == 422 and "state" in bad.text
    missing = api.call("admin", "POST", "/api/webhook-deliveries/41/resend")
    assert missing.status_code == 404 and missing.json()["type"].endswith(":dead-letter-not-found")
    huge = api.call("admin", "POST", f"/api/webhook-deliveries/{2**64}/resend")
    assert huge.status_code == 404


def test_a_receiver_that_does_not_answer_shows_in_the_metrics(api: Api) -> None:
    import socket

    with socket.socket() as probe:  # nothing listens there
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    api.call("admin", "POST", "/api/webhooks", HOOK | {"url": nowhere})
    worker = running(api.system, "lab-1")
    api.call("operator", "POST", f"/api/workers/{worker}/pause")

    def failed() -> str | None:
        text = api.call("admin", "GET", "/metrics").text
        return text if 'cml_fleet_webhook_requests_total{result="failed"} 1.0' in text else None

    text = poll(failed)
    assert 'cml_fleet_webhook_deliveries{state="pending",webhook="ops"} 1.0' in text
    assert nowhere not in text and SECRET not in text
