"""The README's settings table, generated from ``Settings`` so it cannot drift.

``python -m infrastructure.wiring.settings_doc README.md`` rewrites the table in place; a test
fails when the committed README differs from what this renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

from infrastructure.shared.settings import Settings

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def _default(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, Path):
        return f"`{value}`"
    return f"`{value!r}`" if isinstance(value, str) else f"`{value}`"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `CML_FLEET_{name.upper()}` | {_default(field.default)} | {meaning} |")
    return "\n".join(rows)


def rendered(readme: str) -> str:
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(rendered(path.read_text()))
