"""Domain errors. Each says what was refused and why, in words an operator reads."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a command the domain refuses."""


class IllegalTransition(DomainError):
    """The command is not allowed in the worker's current status."""

    def __init__(self, action: str, current: str, allowed: tuple[str, ...]) -> None:
        self.action = action
        self.current = current
        self.allowed = allowed
        super().__init__(
            f"cannot {action} a worker that is {current} (allowed from: {', '.join(allowed)})"
        )


class InvalidValue(DomainError):
    """A value is out of its allowed range."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")
