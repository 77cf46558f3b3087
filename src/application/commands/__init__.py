"""Commands (imperative, frozen dataclasses) with their handlers, one module per topic."""
