"""The layers keep their shape: the domain imports no framework, the application no web."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
FORBIDDEN_IN_DOMAIN = {
    "starlette",
    "sse_starlette",
    "httpx",
    "boto3",
    "botocore",
    "pydantic",
    "pydantic_settings",
    "sqlite3",
    "psycopg",
    "psycopg_pool",
    "apscheduler",
    "uvicorn",
    "anyio",
    "application",
    "infrastructure",
}
FORBIDDEN_IN_APPLICATION = {
    "starlette",
    "sse_starlette",
    "httpx",
    "boto3",
    "botocore",
    "sqlite3",
    "psycopg",
    "uvicorn",
    "apscheduler",
    "infrastructure",
}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_the_domain_imports_only_the_standard_library_and_eventsourcing_domain(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert not imported_roots(path) & FORBIDDEN_IN_DOMAIN
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("eventsourcing")
        ):
            assert node.module == "eventsourcing.domain", f"{path.name} imports {node.module}"


@pytest.mark.parametrize("path", modules("application"), ids=lambda p: p.name)
def test_the_application_imports_no_web_framework_driver_or_adapter(path: Path) -> None:
    assert not imported_roots(path) & FORBIDDEN_IN_APPLICATION
