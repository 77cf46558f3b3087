"""botocore's errors, translated into the cloud port's (``application.ports_errors``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from botocore import exceptions as boto

from application.ports_errors import (
    CloudConflict,
    CloudError,
    CloudNotFound,
    CloudThrottled,
    CloudTimeout,
    CloudTransient,
    CloudUnauthorized,
)

P = ParamSpec("P")
T = TypeVar("T")

BY_CODE: dict[str, type[CloudError]] = {
    **dict.fromkeys(
        (
            "InvalidInstanceID.NotFound",
            "InvalidInstanceID.Malformed",
            "InvalidAMIID.NotFound",
            "InvalidAMIID.Malformed",
            "InvalidLaunchTemplateName.NotFoundException",
            "InvalidLaunchTemplateId.NotFound",
            "InvalidLaunchTemplateId.Malformed",
        ),
        CloudNotFound,
    ),
    **dict.fromkeys(
        (
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "RequestLimitExceeded",
            "RequestThrottled",
            "RequestThrottledException",
            "TooManyRequestsException",
            "SlowDown",
        ),
        CloudThrottled,
    ),
    **dict.fromkeys(
        (
            "AuthFailure",
            "UnauthorizedOperation",
            "AccessDenied",
            "AccessDeniedException",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "ExpiredTokenException",
            "OptInRequired",
            "Blocked",
            "MissingAuthenticationToken",
        ),
        CloudUnauthorized,
    ),
    **dict.fromkeys(
        ("IncorrectInstanceState", "IncorrectState", "IdempotentParameterMismatch"),
        CloudConflict,
    ),
    **dict.fromkeys(
        (
            "InternalError",
            "InternalFailure",
            "ServiceUnavailable",
            "Unavailable",
            "InsufficientInstanceCapacity",
        ),
        CloudTransient,
    ),
}

NO_CREDENTIALS = (
    boto.NoCredentialsError,
    boto.PartialCredentialsError,
    boto.ProfileNotFound,
    boto.CredentialRetrievalError,
    boto.TokenRetrievalError,
    boto.SSOError,
)
# The request may have reached AWS and taken effect: the caller cannot tell.
MAYBE_DONE = (boto.ReadTimeoutError, boto.ConnectionClosedError)
# The request never left: safe to retry.
NEVER_SENT = (boto.ConnectionError, boto.HTTPClientError)


def error_code(error: boto.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def translate(error: Exception) -> CloudError:
    """The port's error for a botocore error (an unknown one becomes ``CloudError``)."""
    if isinstance(error, boto.ClientError):
        code = error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        kind = BY_CODE.get(code) or _by_status(status)
        return kind(str(error), code=code or None)
    if isinstance(error, NO_CREDENTIALS):
        return CloudUnauthorized(f"AWS credentials: {type(error).__name__}")
    if isinstance(error, MAYBE_DONE):
        return CloudTimeout(str(error))
    if isinstance(error, NEVER_SENT):
        return CloudTransient(str(error))
    return CloudError(str(error))


def _by_status(status: int) -> type[CloudError]:
    if status == 429:
        return CloudThrottled
    if status >= 500:
        return CloudTransient
    return CloudError


def translated(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` raising the port's errors instead of botocore's."""

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except (boto.ClientError, boto.BotoCoreError) as error:
            raise translate(error) from error

    return call
