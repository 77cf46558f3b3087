"""License registration and deregistration requests.

The registration token never enters an event: only its fingerprint does. Carrying
the token to CML is the operations engine's job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import WorkerStore


def fingerprint(token: str) -> str:
    """A short, non-reversible identifier of a secret, safe to show and store."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RequestLicenseRegistration(WorkerCommand):
    """Register CML with a Smart Licensing token."""

    token: str = field(default="", repr=False)


def request_license_registration(
    cmd: RequestLicenseRegistration, store: WorkerStore
) -> CommandResult:
    return change(
        store, cmd, lambda w: w.start_license_registration(fingerprint(cmd.token), cause=cmd.cause)
    )


class RequestLicenseDeregistration(WorkerCommand):
    """Deregister CML's license."""


def request_license_deregistration(
    cmd: RequestLicenseDeregistration, store: WorkerStore
) -> CommandResult:
    return change(store, cmd, lambda w: w.start_license_deregistration(cause=cmd.cause))
