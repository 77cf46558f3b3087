"""The CML port over HTTP (``cml="http"``): the CML 2.9 REST API of real workers."""

from __future__ import annotations

from application.ports import Clock
from infrastructure.outside.cml_http.adapter import ENDPOINTS, HttpCml
from infrastructure.outside.cml_http.breaker import BreakerState, CircuitBreaker
from infrastructure.outside.cml_http.config import CmlConfigError, CmlHttpConfig
from infrastructure.outside.cml_http.transport import CmlTransport
from infrastructure.shared.settings import Settings

__all__ = [
    "ENDPOINTS",
    "BreakerState",
    "CircuitBreaker",
    "CmlConfigError",
    "CmlHttpConfig",
    "CmlTransport",
    "HttpCml",
    "build_cml",
]


def build_cml(settings: Settings, clock: Clock) -> HttpCml | None:
    """The HTTP adapter when ``settings.cml == "http"`` (else ``None``).

    Checks the settings now (password or password file, CA bundle) so a bad
    configuration fails at start-up; opens no connection.
    """
    if settings.cml != "http":
        return None
    config = CmlHttpConfig.from_settings(settings)
    config.check()
    return HttpCml(CmlTransport(config, clock))
