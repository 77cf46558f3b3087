"""Settings from the environment (prefix ``CML_FLEET_``) and an optional ``.env`` file."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

RegionFaultName = Literal[
    "refused", "throttled", "server error", "not an AWS answer", "no answer", "nobody listening"
]
"""How a simulated region's EC2 fails (``simulated.world.RegionFault``'s values)."""


C = TypeVar("C")


class Settings(BaseSettings):
    """Every knob of cml-fleet; the README lists them."""

    model_config = SettingsConfigDict(
        env_prefix="CML_FLEET_", env_file=".env", extra="ignore", frozen=True
    )

    # where and how things are stored
    data_dir: Path = Field(Path("./data"), description="SQLite files, tokens, idempotency keys.")
    persistence: Literal["sqlite", "postgres", "memory"] = Field(
        "sqlite", description="Event store and read model: sqlite (files), postgres, memory."
    )
    postgres_dsn: SecretStr | None = Field(None, description="postgresql://user@host:port/db")
    thread_limit: int = Field(16, description="Threads for calls into the synchronous store.")
    gc_thresholds: tuple[int, int, int] = Field(
        (50_000, 20, 100),
        description="`serve`: garbage collector thresholds (Python's default: 700, 10, 10).",
    )
    worker_cache_size: int = Field(
        10_000,
        ge=0,
        description="Workers kept as last saved, so commands skip a replay (0: off).",
    )
    command_batch_size: int = Field(
        64,
        ge=1,
        description="Most operator commands on existing workers saved in one transaction "
        "when they arrive together.",
    )
    read_model_hot_rows: int = Field(
        20_000,
        ge=0,
        description="Worker rows the read model keeps in memory for `GET /api/workers/{id}` "
        "(about 2 KB each; 0: off).",
    )
    postgres_schema: str = Field("cml_fleet", description="PostgreSQL schema of every table.")
    postgres_leader_retry_seconds: float = Field(
        2.0, description="How often a process that does not lead tries to take the lead."
    )

    # HTTP
    host: str = Field("127.0.0.1", description="Interface `serve` listens on.")
    port: int = Field(8000, description="Port `serve` listens on (0: any free port).")
    public_url: str | None = Field(None, description="URL printed for the login link.")
    max_body_bytes: int = Field(64 * 1024, description="Largest request body accepted (413).")
    http_read_timeout_seconds: float = Field(
        30.0, gt=0, description="A request's headers and body must arrive within this."
    )
    read_wait_timeout_seconds: float = Field(5.0, description="Max wait for ?min_position.")
    ready_max_lag: int = Field(1000, description="/readyz fails when the read model lags more.")
    idempotency_ttl_hours: float = Field(24.0, description="How long Idempotency-Key answers live.")
    log_level: str = Field("info", description="Log level of the JSON logs.")

    # auth
    session_max_age_seconds: int = Field(12 * 3600, description="Browser session lifetime.")
    cookie_secure: bool = Field(False, description="Mark the session cookie Secure (HTTPS).")
    login_failures_per_minute: int = Field(
        10, ge=1, description="Failed logins per client or token prefix before 429."
    )
    trusted_proxies: tuple[str, ...] = Field(
        (), description="JSON list of proxy addresses whose X-Forwarded-For is believed."
    )

    # single sign-on (OpenID Connect); notes/SSO.md. Off unless OIDC_ISSUER is set.
    oidc_issuer: str | None = Field(None, description="Issuer URL of the OpenID provider.")
    oidc_provider_name: str = Field("SSO", description='Login button: "Sign in with <this>".')
    oidc_client_id: str | None = Field(None, description="This application's client id.")
    oidc_client_secret_file: Path | None = Field(
        None, description="File holding the client secret (never put it in the environment)."
    )
    oidc_scopes: str = Field("openid profile offline_access", description="Scopes asked at login.")
    oidc_audience: str | None = Field(
        None, description="`aud` a bearer JWT must carry (default: the client id)."
    )
    oidc_algorithms: tuple[str, ...] = Field(
        ("RS256", "PS256", "ES256"), description="JSON list: signature algorithms accepted."
    )
    oidc_roles_claim: str = Field(
        "roles", description="Dotted path of the roles claim (`realm_access.roles`, `groups`)."
    )
    oidc_role_map: str = Field(
        "admin:admin,operator:operator,viewer:viewer",
        description="Claim value to role, `value:role` pairs by commas; the highest role wins.",
    )
    oidc_name_claim: str = Field("name", description="Claim shown as the user's name.")
    oidc_teams_claim: str = Field("groups", description="Dotted path of the teams claim.")
    oidc_jwks_cache_seconds: int = Field(300, ge=0, description="How long signing keys are kept.")
    oidc_refresh_margin_seconds: int = Field(
        60, ge=0, description="Refresh a login's tokens this long before they expire."
    )
    oidc_http_timeout_seconds: float = Field(10.0, gt=0, description="Calls to the provider.")

    # ownership and visibility; notes/SSO.md
    visibility: Literal["all", "team"] = Field(
        "all",
        description="all: everyone sees every worker; team: viewers and operators see and act "
        "only on their teams' workers (admins see all).",
    )

    # idle detection (global defaults)
    idle_detection_enabled: bool = Field(True, description="Idle auto-pause, fleet-wide switch.")
    idle_timeout_minutes: int = Field(60, description="Default idle time before a pause.")
    idle_snooze_minutes: int = Field(30, description="No auto-pause this long after a resume.")

    # metrics recording
    metric_percent_points: float = Field(5.0, description="Move that makes a % metric material.")
    metric_max_staleness_seconds: float = Field(
        20 * 60, description="Record metrics at least this often, even unchanged."
    )

    # health (GET /readyz, /metrics, the dashboard's banner); notes/OBSERVABILITY.md
    health_failures_in_a_row: int = Field(
        3,
        ge=1,
        description="A job, a region or the reactor failing this often in a row: a problem.",
    )
    health_operation_stall_seconds: float = Field(
        900.0, description="An operation in flight this long: the reactor is stuck."
    )

    # the simulated fleet (embedded default)
    cloud: Literal["simulated", "aws"] = Field("simulated", description="EC2/CloudWatch adapter.")
    cml: Literal["simulated", "http"] = Field("simulated", description="CML API adapter.")
    demo_workers: int = Field(6, description="Workers recorded on the first start (0: none).")
    sim_seed: int = Field(42, description="Seed of the simulated fleet (deterministic).")
    sim_latency_ms: float = Field(0.0, description="Simulated latency per cloud/CML call.")
    sim_error_rate: float = Field(0.0, description="Share of simulated calls that fail.")
    sim_timeout_rate: float = Field(0.0, description="Share of simulated calls that time out.")
    sim_busy_fraction: float = Field(default=0.5, description="Simulated workers with users.")
    sim_region_faults: dict[str, RegionFaultName] = Field(
        {},
        description='JSON object: region to how its EC2 fails, e.g. {"us-east-1":"not an AWS '
        'answer"} (refused, throttled, server error, no answer, nobody listening).',
    )

    # AWS (cloud="aws"): boto3 on the default credential chain unless keys/profile are set
    aws_regions: tuple[str, ...] = Field(("us-east-1",), description='JSON list: ["eu-west-1"]')
    aws_profile: str | None = Field(None, description="Named profile of ~/.aws/config.")
    aws_access_key_id: SecretStr | None = Field(None, description="Explicit key (else the chain).")
    aws_secret_access_key: SecretStr | None = Field(None, description="Its secret (never logged).")
    aws_session_token: SecretStr | None = Field(None, description="Session token, if any.")
    aws_endpoint_url: str | None = Field(None, description="Override (moto, private endpoint).")
    aws_region_endpoint_urls: dict[str, str] = Field(
        {}, description="JSON object: region to endpoint, wins over AWS_ENDPOINT_URL there."
    )
    aws_default_tags: dict[str, str] = Field({}, description="JSON object; tags on every launch.")
    aws_max_attempts: int = Field(4, description="Attempts per call, the first included.")
    aws_connect_timeout_seconds: float = Field(5.0, description="boto3 connect timeout.")
    aws_read_timeout_seconds: float = Field(30.0, description="boto3 read timeout.")
    aws_max_concurrency: int = Field(16, description="boto3 calls in flight (threads).")
    aws_detailed_monitoring: bool = Field(False, description="1-minute metrics on launch.")
    aws_metrics_period_seconds: int = Field(60, description="CloudWatch period of a datapoint.")
    aws_metrics_lookback_minutes: float = Field(15.0, description="Window for the latest point.")
    aws_memory_metric: bool = Field(True, description="Ask CWAgent for mem_used_percent.")

    # jobs
    scheduler_enabled: bool = Field(True, description="Run scheduled jobs in this process.")
    metrics_interval_seconds: float = Field(30.0, description="Metrics collection interval.")
    job_concurrency: int = Field(32, description="Workers probed at once by a job.")
    snapshot_every_n_cycles: int = Field(
        10, description="Broadcast every worker's snapshot every N metrics cycles."
    )
    labs_refresh_every_n_cycles: int = Field(
        10,
        ge=1,
        description="Read every lab's details again every N metrics cycles (in between, only"
        " new labs and labs CML's telemetry reports changed are read).",
    )
    lab_import_max_bytes: int = Field(
        1_048_576, ge=1024, description="Largest lab topology (YAML) accepted for import."
    )
    metrics_retention_hours: float = Field(24.0, description="Utilization samples kept.")
    job_misfire_grace_seconds: int = Field(default=60, description="A late run still runs.")
    job_backoff_max_seconds: float = Field(default=900.0, description="Max back-off per worker.")
    job_worker_timeout_seconds: float = Field(default=30.0, description="Max probe per worker.")
    job_region_timeout_seconds: float = Field(
        default=30.0, description="Max wait for one region's EC2/CloudWatch calls per cycle."
    )
    cml_service_account_pattern: str = Field(
        default="^cml-fleet$", description="Regex of our own CML user (not user activity)."
    )

    # the CML REST API of real workers (cml="http"); see notes/CML_CLIENT.md
    cml_username: str = Field("cml-fleet", description="CML user the fleet logs in as.")
    cml_password: SecretStr | None = Field(None, description="Its password (or a file below).")
    cml_password_file: Path | None = Field(None, description="File holding the password.")
    cml_verify_tls: bool = Field(True, description="Verify the workers' TLS certificates.")
    cml_ca_bundle: Path | None = Field(None, description="CA bundle for self-signed workers.")
    cml_timeout_seconds: float = Field(10.0, description="Timeout of one CML API call.")
    cml_retries: int = Field(2, description="Retries of a failed GET (quick failures, 5xx).")
    cml_breaker_failures: int = Field(3, description="Failures in a row that open the circuit.")
    cml_breaker_cooldown_seconds: float = Field(60.0, description="Open circuit: wait to retry.")
    cml_scheme: Literal["https", "http"] = Field("https", description="Scheme of CML APIs.")
    cml_port: int | None = Field(None, description="API port (default: the scheme's).")

    # SSE
    sse_heartbeat_seconds: float = Field(15.0, description="Heartbeat comment interval.")
    sse_retry_ms: int = Field(3000, description="`retry:` hint sent to new streams.")
    sse_send_timeout_seconds: float = Field(
        10.0, description="A stream whose client stops reading is closed after this."
    )
    sse_queue_size: int = Field(1000, description="Frames queued per subscriber before cut-off.")
    sse_flush_interval_ms: float = Field(
        500.0,
        description="The longest a busy stream waits to be written (its frames joined).",
    )
    sse_writes_per_second: float = Field(
        25_000.0,
        gt=0,
        description=(
            "Stream writes per second in all: a busy stream is written every "
            "streams / this seconds (at most the flush interval)."
        ),
    )
    sse_max_streams: int = Field(10_000, ge=1, description="Open event streams at most (503).")
    sse_max_streams_per_credential: int = Field(
        100, ge=1, description="Open event streams per token or browser session at most (429)."
    )
    sse_max_replay: int = Field(
        10_000, description="Largest Last-Event-ID gap replayed; beyond it, a resync."
    )

    # operations engine (the reactor carrying out requested operations); notes/OPERATIONS.md
    operations_enabled: bool = Field(True, description="Carry out requested operations.")
    operations_concurrency: int = Field(16, description="Operations in flight (other workers).")
    operations_retry_attempts: int = Field(6, description="Tries of a call failing transiently.")
    operations_retry_base_seconds: float = Field(1.0, description="First backoff (doubles).")
    operations_retry_max_seconds: float = Field(30.0, description="Longest backoff.")
    license_poll_seconds: float = Field(2.0, description="First wait between licensing polls.")
    license_timeout_seconds: float = Field(300.0, description="Registration in progress too long.")
    license_token_ttl_seconds: float = Field(900.0, description="An untaken token is forgotten.")

    # idle detection job (global defaults: idle_detection_enabled, idle_timeout_minutes, ...)
    idle_interval_seconds: float = Field(60.0, description="How often idle workers are sought.")
    schedule_interval_seconds: float = Field(
        60.0, gt=0, description="How often workers are held to their office-hours schedules."
    )
    budget_interval_seconds: float = Field(
        300.0, gt=0, description="How often budgets are checked (alerts, enforcement)."
    )
    notice_minutes: float = Field(
        10.0, ge=0, le=120,
        description="Warn a worker's CML users this long before an idle pause or a scheduled "
        "stop (a system notice; 0: never).",
    )  # fmt: skip
    webhook_max_attempts: int = Field(
        8, ge=1, le=20, description="Tries of a webhook delivery before it is a dead letter."
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="How long a webhook receiver has to answer."
    )
    webhook_retention_days: float = Field(
        7.0, gt=0, description="How long delivered webhooks stay in the delivery history."
    )
    idle_running_labs_signal: bool = Field(True, description="Labs with running nodes = activity.")
    idle_activity_refresh_minutes: float = Field(
        10.0, description="How often running labs are recorded as activity."
    )
    idle_check_before_pause: bool = Field(True, description="Ask CML once more before pausing.")

    # discovery of existing EC2 instances (off by default); POST /api/admin/discovery
    discovery_enabled: bool = Field(False, description="Run discovery on a timer.")
    discovery_interval_seconds: float = Field(900.0, description="Discovery interval.")
    discovery_regions: tuple[str, ...] = Field(
        (), description="JSON list; default: AWS_REGIONS and the regions of known workers."
    )
    discovery_ami_ids: tuple[str, ...] = Field(
        (), description='JSON list of AMI id patterns, e.g. ["ami-0c1f*"] (EC2 image-id filter).'
    )
    discovery_ami_name_patterns: tuple[str, ...] = Field(
        (),
        description='JSON list of AMI name patterns, e.g. ["cml-2.9*"]; with the AMI ids, '
        "the AMIs discovery matches (any owner: be specific).",
    )
    discovery_tags: dict[str, str] = Field(
        {}, description='JSON object: tag key to value pattern, e.g. {"Product":"cml*"}.'
    )

    # cost
    instance_hourly_prices: dict[str, float] = Field(
        {
            "m5.xlarge": 0.192,
            "m5.2xlarge": 0.384,
            "m5.4xlarge": 0.768,
            "m5.8xlarge": 1.536,
            "c5.2xlarge": 0.34,
            "c5.4xlarge": 0.68,
            "c5.9xlarge": 1.53,
            "m5zn.metal": 3.9641,
        },
        description="JSON object: EC2 instance type to its price per hour (on-demand).",
    )
    default_hourly_price: float = Field(0.5, description="Price per hour of other types.")
    cost_currency: str = Field("USD", description="Currency of the prices.")

    def data_file(self, name: str) -> Path | None:
        """The file ``name`` in the data directory (made if missing), or ``None`` when
        nothing is kept on disk (persistence ``memory``)."""
        if self.persistence == "memory":
            return None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / name

    def section(self, config: type[C], prefix: str, **given: Any) -> C:
        """``config`` (a dataclass) from the settings named ``prefix`` + a field's name;
        ``given`` sets the fields named otherwise or converted, the rest keep defaults."""
        found = {
            f.name: getattr(self, prefix + f.name)
            for f in fields(config)  # type: ignore[arg-type]
            if f.init and f.name not in given and prefix + f.name in type(self).model_fields
        }
        return config(**found, **given)
