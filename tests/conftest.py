"""Test layout: unit (pure, fast), integration (real Kafka and PostgreSQL), e2e (processes).

Integration and e2e tests need the broker and database that `make infra-up` starts;
`make test` starts them first. Each test session works in its own topic namespace and
its own databases, so tests never see each other's data or a running demo's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
        elif "e2e" in path.parts:
            item.add_marker(pytest.mark.e2e)
