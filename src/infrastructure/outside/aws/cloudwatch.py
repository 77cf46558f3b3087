"""CloudWatch ``GetMetricData``: CPU (``AWS/EC2``) and memory (``CWAgent``) of many
instances per call, and the latest datapoint of each. Synchronous."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from application.cloud import CloudMetrics
from infrastructure.outside.aws.instances import utc

MAX_QUERIES = 500  # GetMetricData's limit per call
CPU = ("AWS/EC2", "CPUUtilization")
MEMORY = ("CWAgent", "mem_used_percent")  # needs the agent with an InstanceId dimension


@dataclass(frozen=True)
class MetricWindow:
    """Where to look for the latest datapoint: ``(now - lookback, now]``."""

    now: datetime
    lookback: timedelta
    period_seconds: int = 60
    memory: bool = True

    def per_instance(self) -> int:
        return 2 if self.memory else 1


def instances_per_call(window: MetricWindow) -> int:
    return MAX_QUERIES // window.per_instance()


def queries(
    instance_ids: Sequence[str], window: MetricWindow
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """The metric queries, and query id -> (instance id, ``cpu``/``memory``)."""
    wanted = [("cpu", CPU), ("memory", MEMORY)][: window.per_instance()]
    found: list[dict[str, Any]] = []
    index: dict[str, tuple[str, str]] = {}
    for n, instance_id in enumerate(instance_ids):
        for kind, (namespace, metric) in wanted:
            query_id = f"{kind[0]}{n}"  # ids must start with a lower-case letter
            index[query_id] = (instance_id, kind)
            found.append(_query(query_id, namespace, metric, instance_id, window.period_seconds))
    return found, index


def _query(query_id: str, namespace: str, metric: str, instance_id: str, period: int) -> Any:
    dimensions = [{"Name": "InstanceId", "Value": instance_id}]
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": period,
            "Stat": "Average",
        },
        "ReturnData": True,
    }


def fetch(
    client: Any, instance_ids: Sequence[str], window: MetricWindow
) -> dict[str, CloudMetrics]:
    """Latest CPU/memory of ≤ ``instances_per_call`` instances, following every page.

    ``EndTime`` is one period past ``now`` because CloudWatch stamps a datapoint with
    the start of its period; points after ``now`` are dropped here.
    """
    metric_queries, index = queries(instance_ids, window)
    request: dict[str, Any] = {
        "MetricDataQueries": metric_queries,
        "StartTime": window.now - window.lookback,
        "EndTime": window.now + timedelta(seconds=window.period_seconds),
        "ScanBy": "TimestampDescending",
    }
    results: list[Mapping[str, Any]] = []
    while True:
        answer = client.get_metric_data(**request)
        results.extend(answer["MetricDataResults"])
        if not answer.get("NextToken"):
            return latest(results, index, window.now)
        request["NextToken"] = answer["NextToken"]


def latest(
    results: Iterable[Mapping[str, Any]], index: Mapping[str, tuple[str, str]], now: datetime
) -> dict[str, CloudMetrics]:
    """The newest point at or before ``now`` of each query, whatever page or order it
    came in; instances with no point at all are left out."""
    best: dict[tuple[str, str], tuple[datetime, float]] = {}
    for result in results:
        key = index.get(result["Id"])
        if key is None:
            continue
        for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
            at = utc(stamp)
            assert at is not None
            if at <= now and (key not in best or at > best[key][0]):
                best[key] = (at, float(value))
    return _per_instance(best)


def _per_instance(
    best: Mapping[tuple[str, str], tuple[datetime, float]],
) -> dict[str, CloudMetrics]:
    ids = {instance_id for instance_id, _ in best}
    answer = {}
    for instance_id in ids:
        cpu, memory = best.get((instance_id, "cpu")), best.get((instance_id, "memory"))
        stamps = [point[0] for point in (cpu, memory) if point is not None]
        answer[instance_id] = CloudMetrics(
            cpu_percent=None if cpu is None else cpu[1],
            memory_percent=None if memory is None else memory[1],
            at=max(stamps),
        )
    return answer
