"""Why a change happens: who asked (``actor``: a user, a token's name, ``job:metrics``,
``reactor``) and in which request (``correlation_id``, traced through logs, events and
the stream). Every aggregate method takes one; every event it records carries both."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    actor: str
    correlation_id: str
