"""boto3 clients: one session, one client per (service, region), made on first use.

boto3 sessions are not thread-safe, so creation is serialised; the clients
themselves are, and are shared by every thread. Each client counts its calls per
API operation (and botocore's retries), for the benchmark and ``/metrics``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config

from infrastructure.outside.aws.config import AwsConfig

log = logging.getLogger(__name__)


class CallCounter:
    """Calls per ``service:Operation`` (as IAM names them), and retries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._before_call)
        client.meta.events.register("after-call.*.*", self._after_call)

    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def retries(self) -> dict[str, int]:
        with self._lock:
            return dict(self._retries)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._retries.clear()

    def _before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self._calls[_name(model)] += 1

    def _after_call(self, model: Any, parsed: Any = None, **_: Any) -> None:
        attempts = ((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts") or 0
        if attempts:
            with self._lock:
                self._retries[_name(model)] += attempts


def _name(model: Any) -> str:
    return f"{model.service_model.service_name}:{model.name}"


class AwsClients:
    """The EC2 and CloudWatch clients of every region, made once and reused."""

    def __init__(self, config: AwsConfig, session: Any = None) -> None:
        """``session``: a ``boto3.Session`` to reuse (tests share one: each new session
        loads the EC2 service model again, ~0.25 s); by default one made from ``config``."""
        self.config = config
        self.counter = CallCounter()
        self._lock = threading.Lock()
        self._session: Any = session
        self._clients: dict[tuple[str, str], Any] = {}

    def ec2(self, region: str) -> Any:
        return self._client("ec2", region)

    def cloudwatch(self, region: str) -> Any:
        return self._client("cloudwatch", region)

    def _client(self, service: str, region: str) -> Any:
        client = self._clients.get((service, region))
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                client = self._new_client(service, region)
                self._clients[(service, region)] = client
            return client

    def ec2_regions(self) -> list[str]:
        """Every region EC2 has in any partition, as this botocore knows them (its
        bundled endpoint data: no call is made)."""
        with self._lock:
            session = self._get_session()
            return [
                region
                for partition in session.get_available_partitions()
                for region in session.get_available_regions("ec2", partition)
            ]

    def _get_session(self) -> Any:
        c = self.config
        if self._session is None:
            self._session = boto3.Session(
                profile_name=c.profile,
                aws_access_key_id=_reveal(c.access_key_id),
                aws_secret_access_key=_reveal(c.secret_access_key),
                aws_session_token=_reveal(c.session_token),
            )
        return self._session

    def _new_client(self, service: str, region: str) -> Any:
        c = self.config
        client = self._get_session().client(
            service,
            region_name=region,
            endpoint_url=c.endpoint_for(region),
            config=Config(
                retries={"mode": "adaptive", "total_max_attempts": c.max_attempts},
                connect_timeout=c.connect_timeout,
                read_timeout=c.read_timeout,
                max_pool_connections=max(10, c.max_concurrency),
                user_agent_extra="cml-fleet",
            ),
        )
        self.counter.attach(client)
        log.info(
            "%s client for %s (endpoint %s, credentials: %s)",
            service,
            region,
            c.endpoint_for(region) or "AWS",
            c.credentials_source(),
        )
        return client


def _reveal(secret: Any) -> str | None:
    return None if secret is None else secret.get_secret_value()
