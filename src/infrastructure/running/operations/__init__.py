"""The operations engine's infrastructure: the reactor following the log, its tracked
position (``tracking``, ``postgres_tracking``) and the in-memory hand-off of license
tokens (``secrets``). ``wiring.builders`` puts them together."""

from infrastructure.running.operations.reactor import OperationsReactor
from infrastructure.running.operations.secrets import LicenseTokenBox

__all__ = ["LicenseTokenBox", "OperationsReactor"]
