"""The services keep the shape they were given: thin routes and no long functions.

A route validates, binds context and calls one command or one view; a function that grows
past the limits below is doing several things and is split. These are the limits the
services were brought under, kept by this test so that a new route or rule cannot quietly
undo them."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
LONGEST_ROUTE = 25
LONGEST_FUNCTION = 120
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _functions() -> list[tuple[int, str, bool]]:
    """(lines, where, is a route) for every function and closure under services/."""
    found = []
    for path in sorted(SERVICES.glob("*/src/**/*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                route = any(_is_route(d) for d in node.decorator_list)
                where = f"{path.relative_to(SERVICES)}:{node.lineno} {node.name}"
                found.append((lines, where, route))
    return found


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in HTTP_METHODS
    )


def test_every_service_is_read():
    functions = _functions()
    for service in ("intake", "dispatch", "billing", "feedback"):
        assert any(where.startswith(f"{service}/") for _, where, _ in functions), service
    assert sum(route for _, _, route in functions) >= 4 * 10  # every service has routes


def test_no_route_function_is_longer_than_25_lines():
    long = [(n, where) for n, where, route in _functions() if route and n > LONGEST_ROUTE]
    assert long == [], "split the route: one command or one view, its query in a model"


def test_no_function_under_services_is_longer_than_120_lines():
    long = [(n, where) for n, where, _ in _functions() if n > LONGEST_FUNCTION]
    assert long == []
