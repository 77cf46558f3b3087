"""The wiring: the composition root (``bootstrap``), the builders it calls, the typed
configs made from the settings, the ``cml-fleet`` command and the process's logs.

Everything else in ``infrastructure`` is a capability this folder puts together; nothing
outside it imports it (the tests and benchmarks do, as its users)."""
