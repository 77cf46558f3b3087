"""A worker's CML license as a state machine of its own: a frozen value whose methods
are the transitions, each guarded, each returning the next value.

``registering``/``deregistering`` are ours in progress: while one is, its outcome
decides and what CML reports is not recorded (``observation_matters``). A failed
registration says why; a failed deregistration leaves what CML reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.errors import IllegalTransition
from domain.status import LICENSE_IN_PROGRESS, LicenseStatus

L = LicenseStatus
REGISTRABLE = frozenset({L.UNREGISTERED, L.FAILED, L.EXPIRED, L.EVALUATION})
DEREGISTRABLE = frozenset({L.REGISTERED, L.EXPIRED, L.EVALUATION, L.FAILED})


@dataclass(frozen=True)
class License:
    status: LicenseStatus = L.UNREGISTERED
    fingerprint: str | None = None
    """The registration token's fingerprint (never the token)."""
    detail: str | None = None
    """Why the last operation failed, or what CML said."""
    request_version: int | None = None
    """Version of the event that started the operation in progress."""
    status_before_request: LicenseStatus | None = None
    """The status before that operation started (what a failure leaves)."""

    # -- guards ------------------------------------------------------------------

    def check(self, action: str, allowed: frozenset[LicenseStatus]) -> None:
        if self.status not in allowed:
            names = tuple(sorted(s.value for s in allowed))
            raise IllegalTransition(action, f"license {self.status.value}", names)

    def observation_matters(self, seen: LicenseStatus) -> bool:
        """Whether CML reporting ``seen`` is news to record."""
        return seen is not self.status and self.status not in LICENSE_IN_PROGRESS

    # -- transitions ---------------------------------------------------------------

    def registering(self, fingerprint: str, version: int) -> License:
        return License(L.REGISTERING, fingerprint, None, version, self.status)

    def registered(self, status: LicenseStatus) -> License:
        return replace(self, status=status)

    def registration_failed(self, reason: str) -> License:
        return replace(self, status=L.FAILED, detail=reason)

    def deregistering(self, version: int) -> License:
        return replace(
            self,
            status=L.DEREGISTERING,
            detail=None,
            request_version=version,
            status_before_request=self.status,
        )

    def deregistered(self) -> License:
        return replace(self, status=L.UNREGISTERED, fingerprint=None)

    def deregistration_failed(self, reason: str, left: LicenseStatus) -> License:
        return replace(self, status=left, detail=reason)

    def observed(self, status: LicenseStatus, detail: str | None) -> License:
        fingerprint = None if status is L.UNREGISTERED else self.fingerprint
        return replace(self, status=status, detail=detail, fingerprint=fingerprint)
