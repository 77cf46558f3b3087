"""Bad input is refused with a clear 4xx naming what is wrong, and changes nothing:
strict JSON types, JSON bodies only as JSON, no control characters in names and tags,
EC2's rules for tags, one rule for page limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import Api, settings_for

NEW = {
    "name": "lab-1",
    "region": "eu-west-1",
    "instance_type": "m5.xlarge",
    "ami_id": "ami-0123456789abcdef0",
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=2.0))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


def refused(api: Api, status: int, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    before = api.system.store.max_position()
    answer = api.client.request(
        method, path, headers=api.admin | kwargs.pop("headers", {}), **kwargs
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert api.system.store.max_position() == before  # nothing recorded
    body: dict[str, Any] = answer.json()
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"enabled": True, "timeout_minutes": "30"}, "timeout_minutes"),
        ({"enabled": True, "timeout_minutes": 30.5}, "timeout_minutes"),
    ],
)
def test_json_types_are_strict(api: Api, body: dict[str, Any], field: str) -> None:
    worker = api.create()["worker_id"]
    problem = refused(api, 422, "PUT", f"/api/workers/{worker}/idle-detection", json=body)
    assert fields(problem) == [field]


def test_a_string_where_a_flag_goes_is_refused_at_creation_too(api: Api) -> None:
    problem = refused(
        api, 422, "POST", "/api/workers", json=NEW | {"idle_detection_enabled": "false"}
    )
    assert fields(problem) == ["idle_detection_enabled"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_a_json_body_must_say_it_is_json(api: Api, content_type: str | None) -> None:
    import json

    headers = {} if content_type is None else {"Content-Type": content_type}
    problem = refused(
        api, 415, "POST", "/api/workers", content=json.dumps(NEW).encode(), headers=headers
    )
    assert "application/json" in problem["detail"]


def test_json_with_a_charset_or_a_json_suffix_is_json(api: Api) -> None:
    import json

    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        answer = api.client.post(
            "/api/workers",
            content=json.dumps(NEW | {"name": f"lab-{len(content_type)}"}).encode(),
            headers=api.admin | {"Content-Type": content_type},
        )
        assert answer.status_code == 202, answer.text


@pytest.mark.parametrize("name", ["lab\x00one", "lab\none", "tab\there", "bell\x07", "del\x7f"])
def test_names_with_control_characters_are_refused(api: Api, name: str) -> None:
    assert fields(refused(api, 422, "POST", "/api/workers", json=NEW | {"name": name})) == ["name"]


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        ({"team\x00": "x"}, "add.team\x00.[key]"),
        ({"team": "red\nblue"}, "add.team"),
        ({"team": "<script>"}, "add.team"),
        ({"a;b": "x"}, "add.a;b.[key]"),
        ({"k" * 129: "x"}, f"add.{'k' * 129}.[key]"),
        ({"k": "v" * 257}, "add.k"),
    ],
)
def test_tags_follow_ec2s_rules(api: Api, tags: dict[str, str], field: str) -> None:
    worker = api.create()["worker_id"]
    problem = refused(api, 422, "PATCH", f"/api/workers/{worker}/tags", json={"add": tags})
    assert fields(problem) == [field]


def test_tags_ec2_allows_are_accepted(api: Api) -> None:
    worker = api.create()["worker_id"]
    tags = {"cost-center": "4711", "owner@team": "ana.lopez", "path/x": "a+b=c: d", "ñandú": "é"}
    answer = api.client.patch(f"/api/workers/{worker}/tags", json={"add": tags}, headers=api.admin)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", ["/api/workers", "/api/workers/{id}/history"])
@pytest.mark.parametrize("limit", ["-1", "0", "501", "abc"])
def test_one_rule_for_page_limits(api: Api, path: str, limit: str) -> None:
    worker = api.create()["worker_id"]
    answer = api.client.get(path.format(id=worker), params={"limit": limit}, headers=api.viewer)
    assert answer.status_code == 422, answer.text
    assert fields(answer.json()) == ["limit"]


def test_a_history_cursor_below_one_is_refused(api: Api) -> None:
    worker = api.create()["worker_id"]
    answer = api.client.get(
        f"/api/workers/{worker}/history", params={"before_version": "0"}, headers=api.viewer
    )
    assert answer.status_code == 422 and fields(answer.json()) == ["before_version"]
