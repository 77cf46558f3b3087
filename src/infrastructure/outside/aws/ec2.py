"""EC2 calls, synchronous (the adapter runs them in threads). Each function is one
batched unit of work for one client (one region)."""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from application.cloud import StatusCheck
from application.ports_errors import CloudConflict
from infrastructure.outside.aws.errors import error_code
from infrastructure.outside.aws.instances import (
    TOKEN_TAG,
    LaunchRequest,
    ec2_filters,
    settled_state,
    tag_list,
    to_status_check,
)

DESCRIBE_IDS_PER_CALL = 200  # values per filter EC2 accepts
DESCRIBE_PAGE = 1000  # DescribeInstances MaxResults
DESCRIBE_IMAGES_PAGE = 1000  # DescribeImages MaxResults
STATUS_IDS_PER_CALL = 100  # DescribeInstanceStatus InstanceIds limit
NOT_FOUND = "InvalidInstanceID.NotFound"


def describe(
    client: Any, instance_ids: Sequence[str] | None, filters: Mapping[str, Sequence[str]] | None
) -> list[dict[str, Any]]:
    """Every instance matching, all pages. Ids go in an ``instance-id`` filter, not
    ``InstanceIds``: EC2 fails a whole ``InstanceIds`` call for one unknown id, while
    a filter simply matches nothing."""
    request: dict[str, Any] = {"Filters": ec2_filters(filters)}
    if instance_ids is not None:
        request["Filters"].append({"Name": "instance-id", "Values": list(instance_ids)})
    pages = client.get_paginator("describe_instances").paginate(
        **request, PaginationConfig={"PageSize": DESCRIBE_PAGE}
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def image_ids(client: Any, name_patterns: Sequence[str]) -> list[str]:
    """Ids of the AMIs whose name matches any pattern, all pages. No ``Owners``: every
    image the account may launch (its own, shared and public) is looked at."""
    if not name_patterns:  # no filter would mean every image there is
        return []
    pages = client.get_paginator("describe_images").paginate(
        Filters=[{"Name": "name", "Values": list(name_patterns)}],
        PaginationConfig={"PageSize": DESCRIBE_IMAGES_PAGE},
    )
    return sorted({image["ImageId"] for page in pages for image in page["Images"]})


def status_checks(client: Any, instance_ids: Sequence[str]) -> dict[str, StatusCheck]:
    """Checks of the running ones among ≤ 100 ids. An unknown id fails the whole call
    on EC2, so unknown ids are dropped (named in the error, else found by halving)."""
    ids = list(instance_ids)
    if not ids:  # no ids would mean every instance of the region
        return {}
    try:
        answer = client.describe_instance_status(InstanceIds=ids, IncludeAllInstances=True)
    except ClientError as error:
        if error_code(error) != NOT_FOUND:
            raise
        return _without_unknown(client, ids, str(error))
    checks = (to_status_check(raw) for raw in answer["InstanceStatuses"])
    return {c.instance_id: c for c in checks if c is not None}


def _without_unknown(client: Any, ids: list[str], message: str) -> dict[str, StatusCheck]:
    named = set(re.findall(r"i-[0-9a-f]+", message)) & set(ids)
    if named:
        known = [i for i in ids if i not in named]
        return status_checks(client, known) if known else {}
    if len(ids) == 1:
        return {}
    half = len(ids) // 2
    return {**status_checks(client, ids[:half]), **status_checks(client, ids[half:])}


class TokenLocks:
    """Check-then-launch must not interleave for one token inside this process;
    striped locks keep memory bounded whatever the number of tokens."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def __call__(self, token: str) -> threading.Lock:
        return self._locks[zlib.crc32(token.encode()) % len(self._locks)]


def launch(
    client: Any, request: LaunchRequest, default_tags: Mapping[str, str], locks: TokenLocks
) -> str:
    """Run one instance, at most once per client token.

    EC2 itself is idempotent per ``ClientToken``, but not every endpoint is (moto is
    not), and a token is only as good as the endpoint honouring it. So the real state
    is checked first: the instance carries its token as a tag, and an instance with
    our token (in any state, like EC2) is the answer, refused if it was launched
    for other parameters.
    """
    with locks(request.client_token):
        existing = describe(client, None, {f"tag:{TOKEN_TAG}": [request.client_token]})
        if existing:
            first = min(existing, key=lambda raw: raw["LaunchTime"])
            if request.differs_from(first):
                raise CloudConflict(
                    f"client token {request.client_token} was used for another launch",
                    code="IdempotentParameterMismatch",
                )
            return str(first["InstanceId"])
        answer = client.run_instances(**request.parameters(default_tags))
        return str(answer["Instances"][0]["InstanceId"])


ACTIONS = {
    "start": ("start_instances", "StartingInstances"),
    "stop": ("stop_instances", "StoppingInstances"),
    "terminate": ("terminate_instances", "TerminatingInstances"),
}


def act(client: Any, action: str, instance_id: str) -> str:
    """Start, stop or terminate one instance; the state after the call."""
    method, key = ACTIONS[action]
    answer = getattr(client, method)(InstanceIds=[instance_id])
    return settled_state(action, answer[key][0])


def set_tags(client: Any, instance_id: str, tags: Mapping[str, str]) -> None:
    if tags:
        client.create_tags(Resources=[instance_id], Tags=tag_list(tags))


def remove_tags(client: Any, instance_id: str, keys: Sequence[str]) -> None:
    """``DeleteTags`` with keys only removes those keys whatever their value."""
    if keys:
        client.delete_tags(Resources=[instance_id], Tags=[{"Key": k} for k in keys])


def monitor(client: Any, instance_ids: Sequence[str]) -> dict[str, str]:
    """Turn on detailed (1-minute) monitoring; the monitoring state per instance."""
    answer = client.monitor_instances(InstanceIds=list(instance_ids))
    return {m["InstanceId"]: m["Monitoring"]["State"] for m in answer["InstanceMonitorings"]}
