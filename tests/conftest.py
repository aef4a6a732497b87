"""Test layout: unit (pure, fast), integration (real Kafka and PostgreSQL), e2e (processes).

Integration and e2e tests need the broker and database that `make infra-up` starts;
`make test` starts them first. Each test session works in its own topic namespace and
its own databases, so tests never see each other's data or a running demo's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from repairline_contracts.topics import ALL_TOPICS
from repairline_platform.kafka import delete_topics, ensure_topics
from tests.support import auth  # noqa: F401  (the services' token issuer, for every test)
from tests.support.system import KAFKA

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
        elif "e2e" in path.parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A topic namespace of this test's own on the real broker, removed afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}."
    topics = [name + t for t in ALL_TOPICS]
    await ensure_topics(KAFKA, topics, partitions=6, replication=1)
    yield name
    await delete_topics(KAFKA, topics)
