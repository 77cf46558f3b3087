"""Each endpoint sees the system through the narrow façade of its kind (``http/served.py``:
reading, acting, administering, guarding, observed), never the whole of it: only the app
factory takes ``Served``, and every other read of ``app.state.system`` is typed with a
façade, so mypy holds the endpoint to the parts its façade names."""

from __future__ import annotations

import re
from pathlib import Path

HTTP = Path(__file__).parents[2] / "src" / "infrastructure" / "http"
FACADES = {"Reading", "Parts", "Acting", "Administering", "Guarding", "Observed"}


def test_only_the_app_factory_takes_the_whole_system() -> None:
    whole = {
        path.relative_to(HTTP).as_posix()
        for path in HTTP.rglob("*.py")
        if path.name != "served.py" and re.search(r"\bServed\b", path.read_text())
    }
    assert whole == {"app.py"}


def test_every_read_of_the_system_is_typed_with_a_facade() -> None:
    for path in HTTP.rglob("*.py"):
        for line in path.read_text().splitlines():
            if "= request.app.state.system" in line:
                typed = re.match(r"\s*system: (\w+) = request\.app\.state\.system$", line)
                assert typed and typed.group(1) in FACADES, f"{path.name}: {line.strip()}"
