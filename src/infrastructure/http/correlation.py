"""Correlation ids: the client's ``X-Correlation-ID`` when it is sane, else a new one."""

from __future__ import annotations

import re
import uuid

CORRELATION_HEADER = "X-Correlation-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def correlation_id_from(value: str | None) -> str:
    """The client's id when it is sane (short, plain characters), else a new uuid4."""
    if value is not None and _SANE.match(value):
        return value
    return str(uuid.uuid4())
