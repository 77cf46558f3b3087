"""Errors the cloud and CML ports raise, whatever the adapter behind them.

Adapters translate their library's errors into these (botocore ``ClientError`` codes,
httpx exceptions and status codes), so use cases never see a library type.
"""

from __future__ import annotations


class CloudError(Exception):
    """A cloud call failed. ``code`` is the provider's error code when there is one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class CloudNotFound(CloudError):
    """The instance (or another named resource) does not exist."""


class CloudUnauthorized(CloudError):
    """Credentials are missing, wrong, or lack the permission. Permanent."""


class CloudConflict(CloudError):
    """The request conflicts with the resource's state (e.g. starting a terminated
    instance, or a client token reused with other parameters). Permanent."""


class CloudTransient(CloudError):
    """Worth retrying later: a server error or a dropped connection."""


class CloudThrottled(CloudTransient):
    """The provider asked us to slow down."""


class CloudTimeout(CloudTransient):
    """No answer in time; the call may or may not have taken effect."""


class CmlError(Exception):
    """A CML API call failed. ``status`` is the HTTP status when there was an answer."""

    def __init__(self, host: str, message: str, *, status: int | None = None) -> None:
        self.host = host
        self.status = status
        super().__init__(f"{host}: {message}")
        self.reason = message


class CmlUnreachable(CmlError):
    """No answer at all: connection refused, timed out, TLS failure, unknown host."""
