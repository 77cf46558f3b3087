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


class CloudUnexpected(CloudError):
    """The adapter met something it does not know: an answer nothing like AWS's (an
    HTML error page from a proxy), a library error it has no mapping for, a bug. The
    original error is its ``__cause__``."""


class CmlError(Exception):
    """A CML API call failed. ``status`` is the HTTP status when there was an answer."""

    def __init__(self, host: str, message: str, *, status: int | None = None) -> None:
        self.host = host
        self.status = status
        super().__init__(f"{host}: {message}")
        self.reason = message


class CmlUnreachable(CmlError):
    """No answer at all: connection refused, timed out, TLS failure, unknown host."""


def failure_kind(error: BaseException) -> str:
    """A stable name for a failure: the port error's class and provider code, or the
    type of an unexpected error (never its free text, which may vary every call)."""
    if isinstance(error, CloudError):
        kind = type(error).__name__
        return f"{kind} ({error.code})" if error.code else kind
    if isinstance(error, TimeoutError):
        return "no answer in time"
    return f"unexpected {type(error).__name__}"
