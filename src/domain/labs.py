"""Lab operations: what an operator may ask to be done to the labs on a worker's CML,
and the rules the worker holds them to (``CMLWorker.request_lab_operation``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import DomainError, InvalidValue

LAB_ACTIONS = ("start", "stop", "wipe", "delete")
"""Operations on an existing lab (CML's ``PUT /labs/{id}/<action>``, ``DELETE``)."""
IMPORT = "import"
MAX_PENDING_LAB_OPERATIONS = 20
"""Lab operations a worker may have under way at once: more is a runaway client."""
MAX_TITLE = 64  # the spec's lab_title
LAB_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_LAB_ID = re.compile(LAB_ID_PATTERN)


@dataclass(frozen=True)
class LabOperation:
    """``kind`` (an action or ``import``) on the lab ``lab_id`` (``None``: an import not
    yet done, which has no lab yet)."""

    kind: str
    lab_id: str | None

    def __post_init__(self) -> None:
        if self.kind not in (*LAB_ACTIONS, IMPORT):
            raise InvalidValue("operation", f"must be one of {', '.join((*LAB_ACTIONS, IMPORT))}")
        if self.kind != IMPORT and self.lab_id is None:
            raise InvalidValue("lab_id", f"a {self.kind} needs the lab's id")
        if self.lab_id is not None and not _LAB_ID.match(self.lab_id):
            raise InvalidValue("lab_id", "must be a CML lab id (a lowercase UUID4)")


@dataclass(frozen=True)
class LabImport:
    """What the log keeps of a topology to import: its size and digest, the title asked
    for; the topology itself stays out of the log (it may hold device configurations)."""

    size: int
    digest: str
    title: str | None = None

    def __post_init__(self) -> None:
        if self.title is not None and not 1 <= len(self.title) <= MAX_TITLE:
            raise InvalidValue("title", f"must be 1 to {MAX_TITLE} characters")

    def fields(self) -> dict[str, object]:
        return {"size": self.size, "digest": self.digest, "title": self.title}


class NotReadyForLabs(DomainError):
    """Labs are acted on only through a running worker's ready CML."""

    def __init__(self, status: str, service_status: str) -> None:
        self.status, self.service_status = status, service_status
        if status != "running":
            why = f"the worker is {status}; start it first"
        else:
            why = f"its CML is {service_status}, not ready; try again when it is ready"
        super().__init__(f"cannot act on labs now: {why}")


class TooManyLabOperations(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} lab operations are already under way on this worker; wait")
