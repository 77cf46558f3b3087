"""What the builders of jobs and engines read of a built system, as a protocol:
``bootstrap`` builds them from its ``Core`` and the tests from a ``System`` (both have
these parts), and the builders never import the composition root that imports them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from infrastructure.http.served import Parts

if TYPE_CHECKING:
    from application.cml import CmlPort
    from application.operations.context import SecretSource
    from infrastructure.shared.postgres.database import Database


class FleetParts(Parts, Protocol):
    """The system's parts, with the CML port, the database and the license tokens."""

    @property
    def cml(self) -> CmlPort: ...
    @property
    def database(self) -> Database | None: ...
    @property
    def license_tokens(self) -> SecretSource: ...
