"""The command line's client side: ``cml-fleet workers …`` and ``cml-fleet events tail``
talk to a running server over its HTTP API, like any other client (notes/CLI.md)."""
