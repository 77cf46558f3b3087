"""Schemathesis hooks for ``tests/integration/test_api_conformance.py``.

``Idempotency-Key`` promises "the same key, the same request": a key sent again with
another request is refused (422), as the document says. A schema cannot state that
rule, so a generator that draws ``"0"`` as the key of many different requests would be
refused for breaking it. This hook makes schemathesis a client that keeps the promise:
a valid key becomes unique to its request (method, path, query and body); an invalid
key is left as generated, so its refusal is still checked.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import schemathesis

KEY = "Idempotency-Key"
VALID = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    key = (case.headers or {}).get(KEY)
    if not isinstance(key, str) or not VALID.match(key):
        return
    request = repr((case.method, case.formatted_path, case.query, case.body)).encode()
    case.headers[KEY] = f"{key[:200]}.{hashlib.sha256(request).hexdigest()[:40]}"
