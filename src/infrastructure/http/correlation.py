"""Correlation ids: the client's ``X-Correlation-ID``, or a new one when it sends none.

A client's id must be 1 to 128 of ``A-Z a-z 0-9 . _ : -`` (it goes into logs and
events); any other value is refused with 422, so a client never loses its trace to a
silent replacement.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

CORRELATION_HEADER = "X-Correlation-ID"
CORRELATION_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"
_SANE = re.compile(CORRELATION_PATTERN)
RULE = "must be 1 to 128 of A-Z a-z 0-9 . _ : -"

# The id of the request being handled, for every log line written while it is.
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id_from(value: str | None) -> str | None:
    """The client's id; a new uuid4 when it sent none; ``None`` when it is not valid."""
    if value is None:
        return str(uuid.uuid4())
    return value if _SANE.match(value) else None
