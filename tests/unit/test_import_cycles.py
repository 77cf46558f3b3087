"""No import circle in ``src/``, type-only imports (``if TYPE_CHECKING:``) and imports
inside functions included: a module others build on never reaches back up to one built
on it, however the import is written."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                found.add(whole if whole in known else base)
    return {m for m in found if m in known and m != name}


def test_no_module_in_src_imports_its_way_back_to_itself() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                circles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


# Infrastructure's folders, each a capability or the wiring, from the ground up: a
# folder imports only folders on floors below its own.
FLOORS = (
    ("shared",),  # settings, clocks, the PostgreSQL pool
    ("store", "outside", "console"),  # the event log; AWS, CML, the simulated fleet; the CLI client
    ("read_model", "running"),  # the worker view; jobs, reactor, leadership
    ("fanout",),  # the SSE hub and its PostgreSQL relay
    ("http",),  # every endpoint, the stream, the dashboard, access
    ("wiring",),  # the composition root and the command line
)


def test_infrastructure_is_a_few_capability_folders_importing_one_way() -> None:
    floor_of = {folder: n for n, floor in enumerate(FLOORS) for folder in floor}
    top = sorted(p.name for p in (SRC / "infrastructure").iterdir() if p.name != "__pycache__")
    assert top == sorted(floor_of), "a new top-level entry in src/infrastructure"
    known = modules()
    upward = []
    for name, path in known.items():
        if not name.startswith("infrastructure."):
            continue
        here = name.split(".")[1]
        for other in imports(name, path, known):
            if other.startswith("infrastructure.") and other.split(".")[1] != here:
                there = other.split(".")[1]
                if floor_of[there] >= floor_of[here]:
                    upward.append(f"{name} -> {other}")
    assert not upward, "\n".join(upward)
