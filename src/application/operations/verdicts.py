"""What a ``GET /licensing`` answer means for a registration or a deregistration (pure).

A registration succeeds only when CML says ``COMPLETED``; ``FAILED``, or anything
but "in progress", is a failure. Waiting too long is a failure as well: never a
success by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.cml import CmlLicensing, license_status_of
from domain.status import LicenseStatus

IN_PROGRESS = frozenset({"IN_PROGRESS", "RETRY_IN_PROGRESS", "REGISTERING", "PENDING"})


@dataclass(frozen=True)
class Verdict:
    """``final`` False: ask again later. Final: ``status`` on success, else ``reason``."""

    final: bool
    status: LicenseStatus | None = None
    reason: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.final and self.status is not None


PENDING = Verdict(final=False)


def _registration(licensing: CmlLicensing) -> str:
    return (licensing.registration_status or "").upper()


def registration_verdict(licensing: CmlLicensing) -> Verdict:
    state = _registration(licensing)
    if state in IN_PROGRESS:
        return PENDING
    if state == "COMPLETED":
        return Verdict(final=True, status=license_status_of(licensing))
    if state == "FAILED":
        return Verdict(
            final=True, reason=licensing.failure or "CML reports the registration failed"
        )
    return Verdict(
        final=True, reason=f"unexpected answer from CML: registration {state or 'missing'}"
    )


def deregistration_verdict(licensing: CmlLicensing) -> Verdict:
    """Done once CML says ``UNREGISTERED``; while it still says registered, wait."""
    state = _registration(licensing)
    if state == "UNREGISTERED":
        return Verdict(final=True, status=LicenseStatus.UNREGISTERED)
    if state in IN_PROGRESS or state == "COMPLETED":
        return PENDING
    return Verdict(
        final=True, reason=f"unexpected answer from CML: registration {state or 'missing'}"
    )


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` blotted out, in case an error message echoes it."""
    if not secret:
        return text
    return text.replace(secret, "[token]")
