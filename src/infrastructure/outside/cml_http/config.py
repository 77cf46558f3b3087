"""How the CML client reaches the workers: URLs, TLS, timeouts, retries, credentials.

Built from :class:`~infrastructure.shared.settings.Settings`. The password stays a
``SecretStr`` until the moment it is put in the ``POST /authenticate`` body; a
password file is read again at every authentication, so a rotated secret is picked up.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from infrastructure.shared.settings import Settings

log = logging.getLogger(__name__)

API_BASE = "/api/v0"


class CmlConfigError(ValueError):
    """The CML client settings cannot work (e.g. no password). Raised at start-up."""


@dataclass(frozen=True)
class CmlHttpConfig:
    """Everything the HTTP adapter needs to know; see ``notes/CML_CLIENT.md``."""

    username: str = "cml-fleet"
    password: SecretStr | None = None
    password_file: Path | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = 10.0
    retries: int = 2
    backoff_seconds: float = 0.25
    """First retry delay; doubles per retry (with jitter), at most ``backoff_max_seconds``."""
    backoff_max_seconds: float = 4.0
    breaker_failures: int = 3
    breaker_cooldown_seconds: float = 60.0
    scheme: str = "https"
    port: int | None = None
    max_connections: int = 8
    """Per worker: the metrics cycle makes about six calls at once."""
    max_hosts: int = 2048
    """Workers whose pool, token and breaker are kept (least recently used go first)."""
    keepalive_seconds: float = 75.0
    """Keep connections across metrics cycles (nginx's default keep-alive is 75 s)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> CmlHttpConfig:
        return settings.section(
            cls,
            "cml_",
            retries=max(0, settings.cml_retries),
            breaker_failures=max(1, settings.cml_breaker_failures),
        )

    def check(self) -> None:
        """Fail at start-up, not at the first call, when the settings cannot work."""
        self.read_password()
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise CmlConfigError(f"cml_ca_bundle {self.ca_bundle} is not a file")

    def read_password(self) -> SecretStr:
        """The password: from ``password_file`` when set, else ``password``."""
        if self.password_file is not None:
            try:
                text = self.password_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                reason = error.strerror or type(error).__name__
                raise CmlConfigError(f"cannot read cml_password_file: {reason}") from None
            if not text:
                raise CmlConfigError("cml_password_file is empty")
            return SecretStr(text)
        if self.password is None or not self.password.get_secret_value():
            raise CmlConfigError("cml=http needs cml_password or cml_password_file")
        return self.password

    def base_url(self, host: str) -> str:
        """``https://{host}/api/v0`` (scheme and port as configured)."""
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{host}{port}{API_BASE}"

    def tls(self) -> ssl.SSLContext:
        """The TLS context shared by every worker's connection pool."""
        if not self.verify_tls:
            log.warning("CML TLS certificates are NOT verified (cml_verify_tls=false)")
            return httpx.create_ssl_context(verify=False)
        if self.ca_bundle is not None:
            return ssl.create_default_context(cafile=str(self.ca_bundle))
        return httpx.create_ssl_context(verify=True)
