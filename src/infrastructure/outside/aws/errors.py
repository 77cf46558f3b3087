"""Every error a boto3 call can raise, translated into the cloud port's
(``application.ports_errors``): nothing else leaves the adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from botocore import exceptions as boto
from botocore.parsers import ResponseParserError

from application.ports_errors import (
    CloudConflict,
    CloudError,
    CloudNotFound,
    CloudThrottled,
    CloudTimeout,
    CloudTransient,
    CloudUnauthorized,
    CloudUnexpected,
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
    """The port's error for any error a call raised: botocore's by kind, an answer
    that does not parse as AWS's as transient (an HTML page from a proxy or an
    endpoint in trouble), anything else as ``CloudUnexpected``."""
    if isinstance(error, CloudError):
        return error
    if isinstance(error, ResponseParserError):
        return CloudTransient("the endpoint's answer is not an AWS answer", code="Unparseable")
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
    if isinstance(error, boto.BotoCoreError):
        return CloudError(str(error))
    return CloudUnexpected(f"{type(error).__name__}: {error}", code="Unexpected")


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
        except CloudError:
            raise
        except Exception as error:  # the adapter boundary: nothing else gets out
            raise translate(error) from error

    return call
