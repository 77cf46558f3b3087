"""Every structured log call is safe: no ``extra=`` field overwrites a LogRecord
attribute (``process``, ``name``, ``message``, ...), which makes ``logging`` raise
``KeyError`` at the call — at whatever level is enabled, so a test suite run at another
level never sees it. Checked on the source of every call site in ``src``."""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
LEVELS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def log_calls() -> Iterator[tuple[str, ast.Call, list[ast.AST]]]:
    """(where, the call, the nodes of its function) for each call with ``extra=``."""
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, FUNCTIONS))]
        innermost: dict[int, tuple[ast.Call, list[ast.AST]]] = {}
        for scope in scopes:  # functions after the module: the innermost scope wins
            body = list(ast.walk(scope))
            for node in body:
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LEVELS
                    and any(k.arg == "extra" for k in node.keywords)
                ):
                    innermost[id(node)] = (node, body)
        for node, body in innermost.values():
            yield f"{path.relative_to(SRC)}:{node.lineno}", node, body


def keys_of(value: ast.AST, scope: list[ast.AST]) -> set[str]:
    """The keys an ``extra=`` expression can hold: dict literals, ``a | b``, and names
    assigned (or ``|=``-updated) from such expressions in the same function."""
    if isinstance(value, ast.Dict):
        keys = set()
        for key in value.keys:
            assert isinstance(key, ast.Constant) and isinstance(key.value, str), (
                "extra= keys must be string literals"
            )
            keys.add(key.value)
        return keys
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        return keys_of(value.left, scope) | keys_of(value.right, scope)
    if isinstance(value, ast.Name):
        found: set[str] = set()
        for node in scope:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == value.id for t in node.targets)
            ) or (
                isinstance(node, ast.AugAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == value.id
            ):
                found |= keys_of(node.value, scope)
        assert found, f"cannot tell what {value.id!r} holds: build it from dict literals"
        return found
    raise AssertionError(f"cannot check extra={ast.unparse(value)}: use dict literals")


CALLS = list(log_calls())


def test_the_check_sees_the_call_sites() -> None:
    assert len(CALLS) >= 8  # the server, the jobs, the reactor, the CLI, ...


@pytest.mark.parametrize(("where", "call", "scope"), CALLS, ids=[c[0] for c in CALLS])
def test_no_log_field_overwrites_a_log_record_attribute(
    where: str, call: ast.Call, scope: list[ast.AST]
) -> None:
    extra = next(k.value for k in call.keywords if k.arg == "extra")
    clashing = keys_of(extra, scope) & RESERVED
    assert not clashing, f"{where}: extra field(s) {sorted(clashing)} overwrite LogRecord's"
