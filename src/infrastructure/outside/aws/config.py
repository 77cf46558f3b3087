"""What the AWS adapter needs to know, taken from the settings once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import SecretStr

from infrastructure.shared.settings import Settings


@dataclass(frozen=True)
class AwsConfig:
    """Regions, credentials, endpoint and call tuning. Secrets stay ``SecretStr`` (their
    repr is masked), so logging this object never shows a key."""

    regions: tuple[str, ...] = ("us-east-1",)
    profile: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    endpoint_url: str | None = None
    region_endpoint_urls: Mapping[str, str] = field(default_factory=dict)
    """Per region, an endpoint that wins over ``endpoint_url`` (a proxy, a private
    endpoint for one region)."""
    default_tags: Mapping[str, str] = field(default_factory=dict)
    max_attempts: int = 4  # per call, the first included (botocore total_max_attempts)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_concurrency: int = 16
    detailed_monitoring: bool = False
    metrics_period_seconds: int = 60
    metrics_lookback: timedelta = timedelta(minutes=15)
    memory_metric: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsConfig:
        return settings.section(
            cls,
            "aws_",
            regions=tuple(settings.aws_regions),
            connect_timeout=settings.aws_connect_timeout_seconds,
            read_timeout=settings.aws_read_timeout_seconds,
            metrics_lookback=timedelta(minutes=settings.aws_metrics_lookback_minutes),
        )

    def endpoint_for(self, region: str) -> str | None:
        return self.region_endpoint_urls.get(region, self.endpoint_url)

    def credentials_source(self) -> str:
        """Where credentials come from, for logs (never the credentials)."""
        if self.access_key_id is not None:
            return "explicit access key"
        if self.profile is not None:
            return f"profile {self.profile!r}"
        return "default chain"
